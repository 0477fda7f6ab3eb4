"""The demo fleet's plan: which models it holds (ids, names, teams, owners, scenarios, estimators,
labels, traffic) and each planned model's spec. Deterministic in (models, seed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lib.demo.domains import DOMAINS, PROBLEM_SCENARIOS, SCENARIOS, Domain, Num

MIN_ROWS_PER_DAY = 1000

TEAM_OWNERS: dict[str, tuple[str, ...]] = {
    "growth": ("amara@example.com", "ben@example.com", "chen@example.com"),
    "risk": ("ines@example.com", "jonas@example.com", "kofi@example.com"),
    "payments": ("lena@example.com", "mateo@example.com", "noor@example.com"),
    "retail": ("dana@example.com", "emil@example.com", "farah@example.com"),
    "supply-chain": ("omar@example.com", "priya@example.com", "quentin@example.com"),
    "marketing": ("rosa@example.com", "sven@example.com", "tariq@example.com"),
    "pricing": ("ulla@example.com", "victor@example.com", "wen@example.com"),
}

# The first model of each problem scenario: a fixed, named model to demo and to test against.
SHOWCASE: dict[str, dict[str, Any]] = {
    "unseen-categories": dict(
        model_id="icecream-sales",
        domain="icecream",
        name="Ice cream price forecast",
        team="retail",
        owner="dana@example.com",
        region="eu",
        tags=("pricing", "eu"),
        labels="late",
        policy={
            "feature_drift": {"yellow": 0.15, "red": 0.3},
            "features": {"flavor": {"unseen_categories": {"yellow": 0.01}}},
        },
        actions={
            "notify": ["mailto://dana@example.com"],
            "retrain_url": "https://ci.example.com/hooks/retrain-icecream",
        },
        upstream=("mailto://flavor-feed@example.com",),  # who to tell of new flavors (issue 13)
    ),
    "gradual-drift": dict(model_id="churn-mobile-eu", domain="churn", variant="mobile", region="eu"),
    "prediction-drift": dict(model_id="fraud-card-us", domain="fraud", variant="card", region="us"),
    "missing-spike": dict(model_id="credit-risk-sme-de", domain="credit", variant="sme", region="de"),
    "out-of-range": dict(model_id="demand-grocery-berlin", domain="demand", variant="grocery", region="berlin"),
    "schema-missing-column": dict(
        model_id="pricing-hotel-rooms-eu", domain="pricing", variant="hotel-rooms", region="eu"
    ),
    "schema-extra-column": dict(model_id="ticket-router-support-en", domain="tickets", variant="support", region="en"),
    "performance-decay": dict(model_id="lead-score-b2b-us", domain="lead", variant="b2b", region="us"),
    "volume-drop": dict(model_id="delivery-delay-parcels-uk", domain="delivery", variant="parcels", region="uk"),
    "stale": dict(model_id="ltv-app-fr", domain="ltv", variant="app", region="fr"),
    "too-little-data": dict(model_id="segment-luxury-ch", domain="segment", variant="luxury", region="ch"),
}

# A few healthy models carry a spec policy override (stricter thresholds); by healthy rank.
_POLICY_OVERRIDES = {
    0: {"feature_drift": {"yellow": 0.05, "red": 0.2}},
    1: {"prediction_drift": {"yellow": 0.05, "red": 0.2}},
    2: {"feature_drift": {"yellow": 0.05, "red": 0.2}, "min_rows": 200},
}


# --------------------------------------------------------------------------------------------
# The fleet plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPlan:
    index: int
    model_id: str
    name: str
    domain: str
    team: str
    owner: str
    tags: tuple
    scenario: str
    estimator: str  # logistic | ridge | hgb | tree
    has_score: bool
    labels: str  # none | logged | late
    rows_per_day: int
    policy: dict | None = None
    actions: dict | None = None
    upstream: tuple = ()


def _scenario_list(models: int, rng: np.random.Generator) -> list[str]:
    """Scenario per model slot: about a third problems, each problem at least once when
    models >= len(PROBLEM_SCENARIOS) + 1; the first occurrence of each is its showcase."""
    if models <= 0:
        return []
    n_problem = min(models - 1, max(len(PROBLEM_SCENARIOS), round(models / 3))) if models > 1 else 0
    problems = [PROBLEM_SCENARIOS[i % len(PROBLEM_SCENARIOS)] for i in range(n_problem)]
    slots = ["healthy"] * (models - n_problem)
    # Showcases (the first of each problem) first, then the rest interleaved at random.
    head = problems[: len(PROBLEM_SCENARIOS)]
    rest = problems[len(PROBLEM_SCENARIOS) :] + slots
    order = rng.permutation(len(rest))
    return head + [rest[i] for i in order]


def plan_fleet(models: int = 200, *, seed: int = 0) -> list[ModelPlan]:
    """The fleet's models (ids, owners, scenarios, estimators): deterministic in (models, seed)."""
    rng = np.random.default_rng((seed, 10_000_019))
    scenarios = _scenario_list(models, rng)
    keys = list(DOMAINS)
    weights = np.array([DOMAINS[k].weight for k in keys], dtype=float)
    weights /= weights.sum()
    used = {s["model_id"] for s in SHOWCASE.values()}
    seen_showcase: set[str] = set()
    healthy_rank = 0
    plans: list[ModelPlan] = []
    for index, scenario in enumerate(scenarios):
        show = SHOWCASE.get(scenario) if scenario not in seen_showcase else None
        if show is not None:
            seen_showcase.add(scenario)
            domain = DOMAINS[show["domain"]]
            model_id = show["model_id"]
            variant, region = show.get("variant", domain.variants[0]), show["region"]
        else:
            domain = DOMAINS[keys[int(rng.choice(len(keys), p=weights))]]
            for attempt in range(1000):
                variant = domain.variants[int(rng.integers(len(domain.variants)))]
                region = domain.regions[int(rng.integers(len(domain.regions)))]
                model_id = (
                    f"{domain.prefix}-{variant}-{region}"
                    if attempt < 50
                    else f"{domain.prefix}-{variant}-{region}-{attempt}"
                )
                if model_id not in used:
                    break
        used.add(model_id)
        name = (show or {}).get("name") or domain.title.format(
            variant=variant.replace("-", " ").capitalize(), region=region.upper()
        )
        team = (show or {}).get("team") or domain.teams[int(rng.integers(len(domain.teams)))]
        owners = TEAM_OWNERS[team]
        owner = (show or {}).get("owner") or owners[int(rng.integers(len(owners)))]
        task = domain.task
        if task == "regression":
            estimator = ("ridge", "ridge", "hgb", "tree")[int(rng.integers(4))]
        else:
            estimator = ("logistic", "logistic", "hgb", "tree")[int(rng.integers(4))]
        # A binary model without a score is judged on F1 at its threshold, a noisier metric:
        # only smooth estimators go without one.
        has_score = task == "binary_classification" and not (
            domain.score_optional and estimator != "tree" and rng.random() < 0.5
        )
        u = rng.random()
        if show is not None and "labels" in show:
            labels = show["labels"]
        elif scenario == "performance-decay":
            labels = "late"
        elif scenario == "healthy":
            labels = "late" if u < 0.30 else ("logged" if u < 0.45 else "none")
        else:
            labels = "none"
        rows_per_day = 12 if scenario == "too-little-data" else int(MIN_ROWS_PER_DAY + rng.integers(10, 100))
        policy = actions = None
        if show is not None:
            policy, actions = show.get("policy"), show.get("actions")
            if actions is None:
                actions = {"retrain_url": f"https://ci.example.com/hooks/retrain-{model_id}"}
        elif scenario == "healthy":
            policy = _POLICY_OVERRIDES.get(healthy_rank)
            healthy_rank += 1
        base_tags = tuple((show or {}).get("tags") or (*domain.tags, region))
        sc = SCENARIOS[scenario]
        tags = (*base_tags, "demo", f"scenario:{scenario}", f"expect:{sc.expect}")
        if sc.check:
            tags += (f"check:{sc.check}",)
        if policy:
            tags += ("policy-override",)
        plans.append(
            ModelPlan(
                index=index,
                model_id=model_id,
                name=name,
                domain=domain.key,
                team=team,
                owner=owner,
                tags=tags,
                scenario=scenario,
                estimator=estimator,
                has_score=has_score,
                labels=labels,
                rows_per_day=rows_per_day,
                policy=policy,
                actions=actions,
                upstream=tuple((show or {}).get("upstream") or ()),
            )
        )
    return plans


def segment_feature(plan: ModelPlan) -> str | None:
    """The missing-spike models' segment feature (issue 13): the domain's first categorical
    feature; its most frequent value's feed is the one that breaks (lib/demo/generate.py).
    None (a fleet-wide spike) when that value is too rare to carry the scenario's 40% alone."""
    if plan.scenario != "missing-spike":
        return None
    cat = next((f for f in DOMAINS[plan.domain].features if not isinstance(f, Num)), None)
    if cat is None or max(cat.levels.values()) / sum(cat.levels.values()) < 0.45:
        return None
    return cat.name


def model_spec(plan: ModelPlan) -> dict[str, Any]:
    """The spec (as a dict, the shape of DESIGN.md's YAML) of one planned model."""
    domain = DOMAINS[plan.domain]
    columns = {"timestamp": "ts", "id": "request_id", "prediction": "prediction", "label": "label"}
    if plan.has_score:
        columns["score"] = "score"
    spec: dict[str, Any] = {
        "model_id": plan.model_id,
        "name": plan.name,
        "task": domain.task,
        "owner": plan.owner,
        "team": plan.team,
        "tags": list(plan.tags),
        "columns": columns,
        "features": {f.name: ("numeric" if isinstance(f, Num) else "categorical") for f in domain.features},
        "description": _description(plan, domain),
    }
    if (seg := segment_feature(plan)) is not None:
        spec["features"][seg] = {"kind": "categorical", "segment": True}
    if domain.task == "binary_classification":
        spec["positive_class"] = str(domain.positive_class if domain.positive_class is not None else domain.classes[1])
    if plan.policy:
        spec["policy"] = plan.policy
    if plan.actions:
        spec["actions"] = plan.actions
    if plan.upstream:
        spec["upstream"] = list(plan.upstream)
    return spec


def _description(plan: ModelPlan, domain: Domain) -> str:
    est = {
        "logistic": "logistic regression",
        "ridge": "ridge regression",
        "hgb": "histogram gradient boosting",
        "tree": "decision tree",
    }[plan.estimator]
    story = SCENARIOS[plan.scenario].story.format(
        feature={
            "gradual-drift": domain.drift,
            "unseen-categories": domain.unseen[0],
            "missing-spike": domain.missing,
            "out-of-range": domain.units[0],
            "schema-missing-column": domain.dropped,
        }.get(plan.scenario, ""),
        values=", ".join(domain.unseen[1]),
        units=domain.units[3],
        column=domain.extra[0],
        target=domain.target,
    )
    return f"Demo model: predicts {domain.target} ({est}). {story}"

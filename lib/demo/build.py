"""The demo fleet: hundreds of real scikit-learn models with 30 days of inference logs.

`build_demo(db_path)` plans a fleet (default 200 models, 7 teams, binary / multiclass /
regression), and for every model, in worker processes:

1. draws a training set and a hold-out set from its *domain template* (below) with the model's
   own seeded variation (feature distributions, category mix, coefficients, noise);
2. fits a real, small scikit-learn pipeline (imputers + one-hot encoding + LogisticRegression,
   Ridge, HistGradientBoosting or a DecisionTree);
3. writes the reference snapshot (the hold-out set with the model's predictions and, for binary
   models, its score), the inference log of `days` days ending just before `end` (at least 1,000
   rows a day, the model's own predictions; one file, split into the days before and the last
   24 h for the schema scenarios, whose change lands in the newest file), and for a share of
   models late labels, as Parquet files in a temporary directory.

The main process then feeds every file, model by model in plan order, through the same
ingestion API as users' files (`lib.ingest.register_spec` / `ingest_file`). Same seed, same
store: all randomness comes from `numpy.random.default_rng((seed, model_index))` and fixed
`random_state`s, and ingestion order is fixed.

About two thirds of the models are healthy: their inference rows come from exactly the
distribution their reference came from, with enough rows, so no default threshold of DESIGN.md
fires. The others each carry one injected problem, a *scenario* (`SCENARIOS`), recorded in the
spec's tags as `scenario:NAME` (plus `expect:STATUS` and `check:CHECK`) and told in the spec's
`description`. Problems are injected well past the default thresholds. With `models >= 12` each
scenario appears at least once (the first model of each scenario is a fixed *showcase* model,
e.g. `icecream-sales`); with fewer models the fleet holds one healthy model and the first
`models - 1` problem scenarios in `PROBLEM_SCENARIOS` order. Keep `days >= 8` for the volume and
freshness scenarios to mean what they say (the volume baseline is the 7 days before the last 24 h).
Labels: about 30% of healthy models get a late-labels file (the last 14 days), 15% log the label
with the inference; the performance-decay models and `icecream-sales` get late labels too.

This module knows no SQL: it writes files and calls lib.ingest.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

# The newest inference of the default demo is just before this instant, so a fresh demo store's
# default as_of (newest inference rounded up to the hour) is exactly DEMO_END.
DEMO_END = datetime(2026, 11, 26, 23, 0, tzinfo=timezone.utc)

N_TRAIN = 3000          # training rows per model
N_REFERENCE = 4000      # hold-out (reference) rows per model
N_REFERENCE_LABELLED = 8000   # ... per model that receives labels: a steadier performance baseline
MIN_ROWS_PER_DAY = 1000
RAMP_DAYS = 21.0        # gradual drift and concept drift ramp up over the last 21 days
_DAY_MS = 86_400_000


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    name: str
    check: str | None       # the DESIGN.md check it is built to trip (None: none trips)
    expect: str             # the model status it is built to produce
    story: str              # told in the spec's description ({feature}, {values}, ... filled in)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("healthy", None, "green",
             "Healthy: inference data comes from the same distribution as the reference."),
    Scenario("gradual-drift", "feature_drift", "red",
             "Gradual drift: the mean of {feature} has been moving steadily for three weeks "
             "(about one standard deviation by now)."),
    Scenario("prediction-drift", "prediction_drift", "red",
             "Prediction drift: a retrained v2 model with a bug in its training data was "
             "rolled out six days ago; the inputs did not change but the predictions did."),
    Scenario("unseen-categories", "unseen_categories", "red",
             "Unseen categories: in the last 24 h upstream started sending {feature} values the "
             "model never saw ({values})."),
    Scenario("missing-spike", "missing", "red",
             "Missing values: in the last 24 h about 40% of {feature} arrive empty."),
    Scenario("out-of-range", "out_of_range", "red",
             "Out of range: in the last 24 h upstream sends {feature} {units}."),
    Scenario("schema-missing-column", "schema", "red",
             "Schema break: the newest inference file (last 24 h) lacks the feature column "
             "{feature}."),
    Scenario("schema-extra-column", "schema", "yellow",
             "Schema change: the newest inference file (last 24 h) carries an extra column "
             "{column}."),
    Scenario("performance-decay", "performance", "red",
             "Performance decay: the relation between the inputs and the outcome has been "
             "changing for three weeks (concept drift); the inputs look as before."),
    Scenario("volume-drop", "volume", "red",
             "Volume drop: in the last 24 h only about 6% of the usual traffic arrived."),
    Scenario("stale", "freshness", "red",
             "Stale: no inference has been logged for the last 3 days."),
    Scenario("too-little-data", None, "grey",
             "Too little data: a low-traffic model with about 12 predictions a day (fewer than "
             "100 in 7 days), so nothing can be judged."),
)}
PROBLEM_SCENARIOS: tuple[str, ...] = tuple(n for n in SCENARIOS if n != "healthy")


# --------------------------------------------------------------------------------------------
# Domain templates
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Num:
    """A numeric feature. dist: ("normal", mu, sd) | ("gamma", k, theta) | ("lognormal", mu,
    sigma) | ("poisson", lam) | ("int", lo, hi) | ("beta", a, b). `effect` is per standard unit
    (per class for multiclass; in target units for regression); lognormal features act through
    log(x); curve "square" acts through z**2 - 1 (both tails)."""
    name: str
    dist: tuple
    effect: Any = 0.0
    curve: str = "linear"
    lo: float | None = None
    hi: float | None = None
    decimals: int | None = 2
    missing: float = 0.0


@dataclass(frozen=True)
class Cat:
    """A categorical feature: level -> weight, and level -> effect (default 0)."""
    name: str
    levels: dict
    effects: dict = field(default_factory=dict)
    missing: float = 0.0


@dataclass(frozen=True)
class Domain:
    key: str
    task: str                     # binary_classification | multiclass_classification | regression
    prefix: str                   # model id prefix
    title: str                    # "{variant} churn ({region})"
    teams: tuple
    features: tuple
    intercept: Any                # binary: logit; multiclass: per-class logits; regression: base
    variants: tuple
    regions: tuple
    weight: float
    target: str = "label"         # what the label is (for the description)
    classes: tuple = ()           # binary: (negative, positive); multiclass: the classes
    positive_class: str | None = None
    noise: float = 0.0            # regression: noise standard deviation
    target_lo: float | None = None
    target_decimals: int = 2
    score_optional: bool = False  # binary: some models of this domain log no score
    strength: float = 1.0         # multiplies every effect: how predictable the target is
    tags: tuple = ()
    # Where each scenario strikes: feature names (and stories).
    drift: str = ""
    units: tuple = ()             # (feature, factor, offset, story)
    unseen: tuple = ()            # (feature, (new values, ...))
    missing: str = ""
    dropped: str = ""
    extra: tuple = ()             # (column, (values, ...))


DOMAINS: dict[str, Domain] = {d.key: d for d in (
    Domain(
        key="churn", strength=1.3, task="binary_classification", prefix="churn", title="{variant} churn ({region})",
        teams=("growth",), weight=16, target="churned within 30 days", classes=(0, 1),
        intercept=-1.5, tags=("churn", "subscriptions"),
        variants=("mobile", "broadband", "tv", "streaming", "fitness-app", "energy", "insurance", "news"),
        regions=("eu", "us", "uk", "de", "fr", "nl", "nordics", "apac", "latam", "es", "it"),
        features=(
            Num("tenure_months", ("gamma", 2.0, 14.0), -0.9, lo=1, hi=180, decimals=0),
            Num("monthly_charges", ("normal", 70.0, 22.0), 0.5, lo=5, decimals=2),
            Num("support_calls_30d", ("poisson", 1.3), 0.55, decimals=0),
            Num("data_usage_gb", ("lognormal", 2.6, 0.6), -0.35, decimals=1, missing=0.02),
            Cat("contract", {"month-to-month": .52, "one-year": .27, "two-year": .21},
                {"month-to-month": 1.0, "two-year": -1.2}),
            Cat("payment_method", {"card": .42, "bank-transfer": .30, "paypal": .18, "invoice": .10},
                {"invoice": .5, "paypal": .2}),
            Cat("plan", {"basic": .35, "standard": .45, "premium": .20}, {"premium": -.3}),
        ),
        drift="monthly_charges", units=("monthly_charges", 100.0, 0.0, "in cents instead of euros"),
        unseen=("payment_method", ("apple-pay", "google-pay", "klarna")), missing="data_usage_gb",
        dropped="support_calls_30d", extra=("app_version", ("5.3.0", "5.3.1", "5.4.0-beta"))),
    Domain(
        key="fraud", strength=1.2, task="binary_classification", prefix="fraud", title="{variant} fraud ({region})",
        teams=("payments", "risk"), weight=12, target="fraud", classes=("legit", "fraud"),
        positive_class="fraud", intercept=-3.0, tags=("fraud", "transactions"),
        variants=("card", "sepa", "wallet", "p2p", "checkout", "refunds", "payouts"),
        regions=("eu", "us", "uk", "de", "fr", "nl", "es", "it", "pl", "br"),
        features=(
            Num("amount", ("lognormal", 3.7, 1.0), 0.7, decimals=2),
            Cat("merchant_category", {"grocery": .28, "restaurants": .20, "fuel": .14, "electronics": .12,
                                      "travel": .10, "online-services": .16},
                {"electronics": .9, "travel": .6, "online-services": 1.0, "grocery": -.4}),
            Num("hour_of_day", ("int", 0, 23), 0.5, curve="square", decimals=0),
            Cat("card_present", {"yes": .68, "no": .32}, {"no": 1.3}),
            Num("distance_from_home_km", ("lognormal", 1.8, 1.2), 0.8, decimals=1, missing=0.01),
            Num("txn_count_24h", ("poisson", 3.0), 0.6, decimals=0),
            Cat("country", {"DE": .30, "FR": .18, "NL": .12, "ES": .12, "IT": .12, "US": .08, "GB": .08},
                {"US": .5, "GB": .3}),
        ),
        drift="amount", units=("amount", 100.0, 0.0, "in cents instead of euros"),
        unseen=("merchant_category", ("crypto-exchange", "gift-cards", "bnpl")),
        missing="distance_from_home_km", dropped="card_present",
        extra=("device_fingerprint", ("a91f", "7c02", "e5d3", "19bb"))),
    Domain(
        key="credit", strength=1.3, task="binary_classification", prefix="credit-risk", title="Credit risk: {variant} ({region})",
        teams=("risk",), weight=10, target="defaulted", classes=("repaid", "default"),
        positive_class="default", intercept=-2.2, tags=("credit", "lending"),
        variants=("sme", "personal-loans", "mortgages", "cards", "auto-loans", "bnpl", "overdraft"),
        regions=("eu", "de", "fr", "nl", "es", "it", "uk", "at", "be", "pl"),
        features=(
            Num("income", ("lognormal", 10.6, 0.5), -0.7, decimals=0, missing=0.03),
            Num("loan_amount", ("lognormal", 9.4, 0.7), 0.5, decimals=0),
            Num("debt_to_income", ("normal", 0.32, 0.12), 0.9, lo=0.0, decimals=3),
            Num("credit_history_years", ("gamma", 3.0, 3.0), -0.5, decimals=1),
            Num("open_accounts", ("poisson", 4.0), 0.25, decimals=0),
            Cat("employment", {"salaried": .60, "self-employed": .18, "contract": .14, "unemployed": .08},
                {"unemployed": 1.2, "self-employed": .4, "contract": .3}),
            Cat("purpose", {"car": .25, "home-improvement": .20, "debt-consolidation": .30, "education": .10,
                            "other": .15}, {"debt-consolidation": .4, "education": -.2}),
        ),
        drift="debt_to_income", units=("loan_amount", 100.0, 0.0, "in cents instead of euros"),
        unseen=("purpose", ("crypto", "wedding", "medical")), missing="income",
        dropped="credit_history_years", extra=("bureau_score_v2", ("612", "688", "701", "745"))),
    Domain(
        key="lead", strength=1.6, task="binary_classification", prefix="lead-score", title="Lead scoring: {variant} ({region})",
        teams=("marketing",), weight=8, target="converted", classes=(0, 1), intercept=-0.4,
        score_optional=True, tags=("leads", "sales"),
        variants=("b2b", "smb", "enterprise", "trial", "webinar", "partners"),
        regions=("us", "eu", "uk", "dach", "nordics", "apac", "latam"),
        features=(
            Num("pages_viewed", ("poisson", 6.0), 0.6, decimals=0),
            Num("session_minutes", ("gamma", 2.0, 4.0), 0.5, decimals=1),
            Num("days_since_first_visit", ("gamma", 1.5, 10.0), -0.5, decimals=0),
            Num("email_opens", ("poisson", 2.0), 0.7, decimals=0),
            Cat("source", {"organic": .35, "paid-search": .25, "social": .20, "referral": .10, "email": .10},
                {"referral": .8, "email": .5, "social": -.4}),
            Cat("company_size", {"1-10": .30, "11-50": .30, "51-200": .20, "201-1000": .12, "1000+": .08},
                {"1000+": .6, "201-1000": .4, "1-10": -.3}),
        ),
        drift="session_minutes", units=("session_minutes", 60.0, 0.0, "in seconds instead of minutes"),
        unseen=("source", ("tiktok", "podcast", "partner-webinar")), missing="days_since_first_visit",
        dropped="email_opens", extra=("utm_campaign", ("spring", "bf-2026", "retarget"))),
    Domain(
        key="segment", strength=1.7, task="multiclass_classification", prefix="segment", title="Customer segments: {variant} ({region})",
        teams=("marketing", "retail"), weight=7, target="segment",
        classes=("bargain-hunter", "loyal", "premium", "occasional"), intercept=(0.2, 0.0, -0.3, 0.1),
        tags=("segmentation", "crm"),
        variants=("fashion", "grocery", "electronics", "home", "beauty", "luxury", "sports"),
        regions=("eu", "de", "fr", "nl", "uk", "us", "ch", "nordics"),
        features=(
            Num("annual_spend", ("lognormal", 6.5, 0.8), (-0.6, 0.3, 1.4, -0.8), decimals=2),
            Num("orders_per_year", ("poisson", 8.0), (0.0, 1.2, 0.3, -1.2), decimals=0),
            Num("discount_share", ("beta", 2.0, 5.0), (1.4, -0.2, -0.9, 0.0), decimals=3),
            Num("days_since_last_order", ("gamma", 2.0, 20.0), (0.0, -0.9, -0.3, 1.1), decimals=0, missing=0.01),
            Cat("channel", {"web": .45, "app": .35, "store": .20},
                {"app": (0.0, 0.5, 0.3, -0.4), "store": (-0.2, 0.3, 0.0, 0.2)}),
            Cat("age_band", {"18-24": .15, "25-34": .30, "35-49": .30, "50+": .25},
                {"18-24": (0.5, 0.0, -0.5, 0.2), "50+": (-0.2, 0.3, 0.3, 0.0)}),
        ),
        drift="annual_spend", units=("annual_spend", 100.0, 0.0, "in cents instead of euros"),
        unseen=("channel", ("marketplace", "social-shop")), missing="days_since_last_order",
        dropped="age_band", extra=("loyalty_tier", ("silver", "gold"))),
    Domain(
        key="delivery", strength=1.7, task="multiclass_classification", prefix="delivery-delay", title="Delivery delay: {variant} ({region})",
        teams=("supply-chain",), weight=7, target="delivery delay class",
        classes=("on-time", "late-1d", "late-3d+"), intercept=(1.0, 0.0, -0.7), tags=("logistics",),
        variants=("parcels", "freight", "groceries", "furniture", "returns", "express"),
        regions=("uk", "de", "fr", "nl", "be", "es", "it", "pl", "nordics"),
        features=(
            Num("distance_km", ("lognormal", 5.5, 0.8), (-0.8, 0.3, 0.9), decimals=1),
            Num("weight_kg", ("gamma", 2.0, 3.0), (-0.2, 0.1, 0.3), decimals=2, missing=0.01),
            Num("warehouse_load", ("normal", 0.65, 0.15), (-0.9, 0.4, 0.9), lo=0.0, decimals=3),
            Num("order_hour", ("int", 0, 23), (-0.2, 0.1, 0.2), decimals=0),
            Cat("carrier", {"dhl": .30, "ups": .20, "dpd": .20, "gls": .15, "postnl": .15},
                {"dpd": (-0.3, 0.2, 0.3), "gls": (-0.2, 0.1, 0.3)}),
            Cat("weather", {"clear": .55, "rain": .30, "snow": .10, "storm": .05},
                {"snow": (-0.8, 0.3, 1.2), "storm": (-1.2, 0.3, 1.6), "rain": (-0.3, 0.2, 0.2)}),
        ),
        drift="warehouse_load", units=("distance_km", 1000.0, 0.0, "in metres instead of kilometres"),
        unseen=("carrier", ("fedex", "hermes", "bpost")), missing="weight_kg",
        dropped="weather", extra=("route_id", ("r-17", "r-22", "r-40"))),
    Domain(
        key="tickets", strength=1.8, task="multiclass_classification", prefix="ticket-router", title="Ticket routing: {variant} ({region})",
        teams=("growth",), weight=6, target="ticket queue",
        classes=("billing", "technical", "account", "shipping"), intercept=(0.2, 0.3, 0.0, -0.2),
        tags=("support", "nlp-features"),
        variants=("support", "helpdesk", "merchants", "drivers", "sellers"),
        regions=("en", "de", "fr", "es", "nl", "it"),
        features=(
            Num("message_length", ("lognormal", 5.0, 0.7), (-0.2, 0.8, 0.0, -0.3), decimals=0),
            Num("attachments", ("poisson", 0.6), (0.0, 0.8, -0.2, 0.1), decimals=0),
            Num("customer_tenure_days", ("gamma", 2.0, 200.0), (0.3, -0.2, 0.2, -0.1), decimals=0, missing=0.02),
            Cat("product", {"app": .35, "web": .30, "hardware": .20, "subscription": .15},
                {"hardware": (-0.5, 0.8, -0.3, 1.4), "subscription": (1.3, -0.3, 0.5, -0.6),
                 "app": (0.0, 0.3, 0.4, -0.4)}),
            Cat("channel", {"email": .45, "chat": .35, "phone": .20}, {"phone": (0.5, 0.0, 0.4, 0.0)}),
            Cat("language", {"en": .40, "de": .20, "fr": .15, "es": .15, "nl": .10}),
        ),
        drift="message_length", units=("customer_tenure_days", 24.0, 0.0, "in hours instead of days"),
        unseen=("product", ("smart-watch", "gift-card")), missing="customer_tenure_days",
        dropped="channel", extra=("agent_group", ("tier-1", "tier-2"))),
    Domain(
        key="demand", task="regression", prefix="demand", title="Demand forecast: {variant} ({region})",
        teams=("supply-chain", "retail"), weight=14, target="units sold", intercept=110.0, noise=12.0,
        target_lo=0.0, target_decimals=1, tags=("forecasting", "stores"),
        variants=("grocery", "bakery", "beverages", "dairy", "frozen", "household", "pharmacy", "pet"),
        regions=("berlin", "hamburg", "munich", "paris", "lyon", "amsterdam", "madrid", "milan", "vienna"),
        features=(
            Num("price", ("normal", 12.0, 3.0), -18.0, lo=0.5, decimals=2),
            Cat("promo", {"none": .80, "discount": .14, "bundle": .06}, {"discount": 30.0, "bundle": 18.0}),
            Cat("weekday", {"mon": .14, "tue": .14, "wed": .14, "thu": .14, "fri": .15, "sat": .15, "sun": .14},
                {"sat": 22.0, "sun": 12.0, "fri": 8.0}),
            Num("temperature", ("normal", 14.0, 8.0), 7.0, decimals=1),
            Cat("store_size", {"small": .40, "medium": .40, "large": .20}, {"small": -18.0, "large": 28.0}),
            Num("stock_level", ("gamma", 4.0, 50.0), 5.0, decimals=0, missing=0.02),
        ),
        drift="temperature", units=("price", 100.0, 0.0, "in cents instead of euros"),
        unseen=("promo", ("flash-sale", "clearance")), missing="stock_level",
        dropped="temperature", extra=("pos_terminal", ("t1", "t2", "t3"))),
    Domain(
        key="pricing", task="regression", prefix="pricing", title="Dynamic pricing: {variant} ({region})",
        teams=("pricing",), weight=10, target="price", intercept=140.0, noise=10.0, target_lo=20.0,
        tags=("pricing", "revenue"),
        variants=("hotel-rooms", "car-rental", "airline-seats", "event-tickets", "parking", "holiday-homes"),
        regions=("eu", "de", "fr", "it", "es", "pt", "at", "uk"),
        features=(
            Num("days_ahead", ("gamma", 1.5, 20.0), -12.0, decimals=0, missing=0.01),
            Num("occupancy", ("beta", 5.0, 2.0), 25.0, decimals=3),
            Cat("room_type", {"single": .30, "double": .55, "suite": .15}, {"single": -30.0, "suite": 90.0}),
            Cat("city", {"berlin": .20, "paris": .20, "rome": .15, "madrid": .15, "vienna": .15, "lisbon": .15},
                {"paris": 35.0, "rome": 15.0, "lisbon": -15.0}),
            Cat("weekend", {"no": .70, "yes": .30}, {"yes": 15.0}),
            Num("competitor_price", ("lognormal", 4.8, 0.25), 20.0, decimals=2),
        ),
        drift="competitor_price", units=("competitor_price", 100.0, 0.0, "in cents instead of euros"),
        unseen=("city", ("prague", "budapest", "krakow")), missing="days_ahead",
        dropped="weekend", extra=("rate_plan", ("flex", "saver"))),
    Domain(
        key="icecream", task="regression", prefix="icecream", title="Ice cream price forecast ({region})",
        teams=("retail", "pricing"), weight=3, target="price per scoop (EUR)", intercept=3.4, noise=0.15,
        target_lo=0.5, tags=("pricing", "eu"),
        variants=("kiosks", "parlours", "gelato", "beach"), regions=("it", "es", "fr", "de", "nl", "gr", "pt"),
        features=(
            Cat("flavor", {"vanilla": .20, "chocolate": .20, "pistachio": .12, "stracciatella": .10,
                           "lemon": .10, "hazelnut": .10, "mint": .09, "mango": .09},
                {"pistachio": .6, "hazelnut": .4, "mango": .3, "vanilla": -.1}),
            Num("temperature", ("normal", 22.0, 6.0), 0.25, decimals=1),
            Cat("cone_size", {"small": .35, "medium": .40, "large": .25}, {"small": -.8, "large": 1.0}),
            Cat("store_type", {"kiosk": .40, "parlour": .35, "supermarket": .25}, {"parlour": .6, "supermarket": -.9}),
            Cat("tourist_area", {"no": .60, "yes": .40}, {"yes": .5}),
            Num("hour", ("int", 10, 22), 0.1, decimals=0),
        ),
        drift="temperature", units=("temperature", 1.8, 32.0, "in degrees Fahrenheit instead of Celsius"),
        unseen=("flavor", ("strawberry", "cookie dough", "rum raisin", "rocky road")), missing="temperature",
        dropped="tourist_area", extra=("pos_terminal", ("t1", "t2"))),
    Domain(
        key="eta", task="regression", prefix="eta", title="Delivery ETA: {variant} ({region})",
        teams=("supply-chain",), weight=6, target="delivery minutes", intercept=32.0, noise=4.0,
        target_lo=5.0, target_decimals=1, tags=("logistics", "eta"),
        variants=("food", "groceries", "pharmacy", "flowers", "parcels"),
        regions=("nl", "de", "fr", "be", "es", "it", "uk", "pl"),
        features=(
            Num("distance_km", ("gamma", 2.0, 2.5), 9.0, decimals=2),
            Num("items", ("poisson", 4.0), 2.0, decimals=0),
            Cat("courier", {"bike": .40, "scooter": .35, "car": .25}, {"bike": 4.0, "car": -3.0}),
            Cat("zone", {"center": .30, "inner": .30, "outer": .25, "suburbs": .15}, {"center": 3.0, "suburbs": 6.0}),
            Num("traffic_index", ("beta", 2.0, 3.0), 6.0, decimals=3, missing=0.01),
            Num("hour", ("int", 8, 23), 3.0, curve="square", decimals=0),
        ),
        drift="distance_km", units=("distance_km", 1000.0, 0.0, "in metres instead of kilometres"),
        unseen=("courier", ("drone", "robot")), missing="traffic_index",
        dropped="zone", extra=("app_build", ("812", "813"))),
    Domain(
        key="ltv", task="regression", prefix="ltv", title="Customer lifetime value: {variant} ({region})",
        teams=("growth", "marketing"), weight=5, target="12-month revenue (EUR)", intercept=180.0, noise=30.0,
        target_lo=0.0, tags=("ltv", "crm"),
        variants=("app", "web", "marketplace", "subscriptions", "b2b"),
        regions=("de", "fr", "nl", "es", "it", "uk", "us"),
        features=(
            Num("first_order_value", ("lognormal", 3.8, 0.6), 40.0, decimals=2),
            Num("orders_first_30d", ("poisson", 1.5), 35.0, decimals=0, missing=0.01),
            Cat("signup_channel", {"organic": .40, "paid-social": .25, "referral": .15, "search": .20},
                {"referral": 40.0, "paid-social": -25.0}),
            Cat("country", {"de": .30, "fr": .20, "nl": .15, "es": .15, "it": .20}, {"nl": 20.0}),
            Cat("app_user", {"yes": .50, "no": .50}, {"yes": 30.0}),
            Cat("newsletter", {"yes": .35, "no": .65}, {"yes": 15.0}),
        ),
        drift="first_order_value", units=("first_order_value", 100.0, 0.0, "in cents instead of euros"),
        unseen=("signup_channel", ("tiktok", "influencer")), missing="orders_first_30d",
        dropped="newsletter", extra=("experiment_arm", ("a", "b"))),
)}

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
        model_id="icecream-sales", domain="icecream", name="Ice cream price forecast", team="retail",
        owner="dana@example.com", region="eu", tags=("pricing", "eu"), labels="late",
        policy={"feature_drift": {"yellow": 0.15, "red": 0.3},
                "features": {"flavor": {"unseen_categories": {"yellow": 0.01}}}},
        actions={"notify": ["mailto://dana@example.com"],
                 "retrain_url": "https://ci.example.com/hooks/retrain-icecream"}),
    "gradual-drift": dict(model_id="churn-mobile-eu", domain="churn", variant="mobile", region="eu"),
    "prediction-drift": dict(model_id="fraud-card-us", domain="fraud", variant="card", region="us"),
    "missing-spike": dict(model_id="credit-risk-sme-de", domain="credit", variant="sme", region="de"),
    "out-of-range": dict(model_id="demand-grocery-berlin", domain="demand", variant="grocery", region="berlin"),
    "schema-missing-column": dict(model_id="pricing-hotel-rooms-eu", domain="pricing", variant="hotel-rooms",
                                  region="eu"),
    "schema-extra-column": dict(model_id="ticket-router-support-en", domain="tickets", variant="support",
                                region="en"),
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
    estimator: str          # logistic | ridge | hgb | tree
    has_score: bool
    labels: str             # none | logged | late
    rows_per_day: int
    policy: dict | None = None
    actions: dict | None = None


def _scenario_list(models: int, rng: np.random.Generator) -> list[str]:
    """Scenario per model slot: about a third problems, each problem at least once when
    models >= len(PROBLEM_SCENARIOS) + 1; the first occurrence of each is its showcase."""
    if models <= 0:
        return []
    n_problem = min(models - 1, max(len(PROBLEM_SCENARIOS), round(models / 3))) if models > 1 else 0
    problems = [PROBLEM_SCENARIOS[i % len(PROBLEM_SCENARIOS)] for i in range(n_problem)]
    slots = ["healthy"] * (models - n_problem)
    # Showcases (the first of each problem) first, then the rest interleaved at random.
    head = problems[:len(PROBLEM_SCENARIOS)]
    rest = problems[len(PROBLEM_SCENARIOS):] + slots
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
                model_id = f"{domain.prefix}-{variant}-{region}" if attempt < 50 else \
                    f"{domain.prefix}-{variant}-{region}-{attempt}"
                if model_id not in used:
                    break
        used.add(model_id)
        name = (show or {}).get("name") or domain.title.format(
            variant=variant.replace("-", " ").capitalize(), region=region.upper())
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
            domain.score_optional and estimator != "tree" and rng.random() < 0.5)
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
        plans.append(ModelPlan(index=index, model_id=model_id, name=name, domain=domain.key, team=team,
                               owner=owner, tags=tags, scenario=scenario, estimator=estimator,
                               has_score=has_score, labels=labels, rows_per_day=rows_per_day,
                               policy=policy, actions=actions))
    return plans


def model_spec(plan: ModelPlan) -> dict[str, Any]:
    """The spec (as a dict, the shape of DESIGN.md's YAML) of one planned model."""
    domain = DOMAINS[plan.domain]
    columns = {"timestamp": "ts", "id": "request_id", "prediction": "prediction", "label": "label"}
    if plan.has_score:
        columns["score"] = "score"
    spec: dict[str, Any] = {
        "model_id": plan.model_id, "name": plan.name, "task": domain.task, "owner": plan.owner,
        "team": plan.team, "tags": list(plan.tags), "columns": columns,
        "features": {f.name: ("numeric" if isinstance(f, Num) else "categorical") for f in domain.features},
        "description": _description(plan, domain),
    }
    if domain.task == "binary_classification":
        spec["positive_class"] = str(domain.positive_class if domain.positive_class is not None else domain.classes[1])
    if plan.policy:
        spec["policy"] = plan.policy
    if plan.actions:
        spec["actions"] = plan.actions
    return spec


def _description(plan: ModelPlan, domain: Domain) -> str:
    est = {"logistic": "logistic regression", "ridge": "ridge regression",
           "hgb": "histogram gradient boosting", "tree": "decision tree"}[plan.estimator]
    story = SCENARIOS[plan.scenario].story.format(
        feature={"gradual-drift": domain.drift, "unseen-categories": domain.unseen[0],
                 "missing-spike": domain.missing, "out-of-range": domain.units[0],
                 "schema-missing-column": domain.dropped}.get(plan.scenario, ""),
        values=", ".join(domain.unseen[1]), units=domain.units[3], column=domain.extra[0],
        target=domain.target)
    return f"Demo model: predicts {domain.target} ({est}). {story}"


# --------------------------------------------------------------------------------------------
# Data generation (runs in worker processes)
# --------------------------------------------------------------------------------------------
# Inside a worker, a categorical feature is an array of integer codes into its vocabulary (the
# reference levels, then any unseen values; -1 is NULL) and a class label is an index into the
# domain's classes: text is made only when a file is written (by Arrow, in C), which keeps the
# whole default fleet well inside its time budget. The fitted pipeline takes the same codes,
# as a vocabulary lookup in front of a served model would give it; its OneHotEncoder ignores
# codes it never saw (unseen values) and treats NULL as a category of its own.

def _std(f: Num, dist: tuple) -> tuple[float, float]:
    """(center, scale) of a numeric feature's *effect* variable (log(x) for lognormal)."""
    kind = dist[0]
    if kind == "normal":
        return dist[1], dist[2]
    if kind == "gamma":
        return dist[1] * dist[2], math.sqrt(dist[1]) * dist[2]
    if kind == "lognormal":
        return dist[1], dist[2]
    if kind == "poisson":
        return dist[1], math.sqrt(dist[1])
    if kind == "int":
        return (dist[1] + dist[2]) / 2, (dist[2] - dist[1] + 1) / math.sqrt(12)
    if kind == "beta":
        a, b = dist[1], dist[2]
        return a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    raise ValueError(kind)


def _vary(domain: Domain, rng: np.random.Generator) -> dict[str, Any]:
    """The model's own variation of its domain: distributions, category mix, effects, noise."""
    k = len(domain.classes) if domain.task == "multiclass_classification" else 0
    feats: dict[str, Any] = {}
    for f in domain.features:
        if isinstance(f, Num):
            d = f.dist
            if d[0] == "normal":
                dist = ("normal", d[1] + rng.normal(0, 0.08) * d[2], d[2] * rng.uniform(0.9, 1.1))
            elif d[0] == "gamma":
                dist = ("gamma", d[1], d[2] * rng.uniform(0.9, 1.1))
            elif d[0] == "lognormal":
                dist = ("lognormal", d[1] + rng.normal(0, 0.08), d[2] * rng.uniform(0.9, 1.1))
            elif d[0] == "poisson":
                dist = ("poisson", d[1] * rng.uniform(0.9, 1.1))
            else:
                dist = d
            eff = np.asarray(f.effect, dtype=float) * rng.uniform(0.75, 1.25, np.shape(f.effect)) * domain.strength
            feats[f.name] = {"dist": dist, "effect": eff, "std": _std(f, f.dist)}
        else:
            levels = list(f.levels)
            w = np.array([f.levels[v] for v in levels]) * np.exp(rng.normal(0, 0.2, len(levels)))
            w = np.maximum(w / w.sum(), 0.03)
            # One effect row per level (zeros where the template names none).
            eff = np.zeros((len(levels), k) if k else len(levels))
            for i, level in enumerate(levels):
                if level in f.effects:
                    e = np.asarray(f.effects[level], dtype=float)
                    eff[i] = e * rng.uniform(0.75, 1.25, np.shape(e)) * domain.strength
            feats[f.name] = {"levels": levels, "weights": w / w.sum(), "effect": eff}
    intercept = np.asarray(domain.intercept, dtype=float)
    if domain.task == "regression":
        intercept = intercept * rng.uniform(0.9, 1.1)
    else:
        intercept = intercept + rng.normal(0, 0.15, np.shape(intercept))
    # The two strongest features: the ones whose effect reverses under concept drift.
    strength = {f.name: float(np.abs(feats[f.name]["effect"]).max(initial=0.0)) for f in domain.features}
    flip = tuple(sorted(strength, key=lambda name: -strength[name])[:2])
    noise = domain.noise * rng.uniform(0.85, 1.15)
    return {"features": feats, "intercept": intercept, "noise": noise, "flip": flip}


def _draw_num(f: Num, p: dict, n: int, rng: np.random.Generator, shift=None) -> np.ndarray:
    d = p["dist"]
    kind = d[0]
    if kind == "normal":
        x = rng.normal(d[1], d[2], n)
    elif kind == "gamma":
        x = rng.gamma(d[1], d[2], n)
    elif kind == "lognormal":
        x = rng.normal(d[1], d[2], n)        # log scale; exponentiated below
    elif kind == "poisson":
        x = rng.poisson(d[1], n).astype(float)
    elif kind == "int":
        x = rng.integers(d[1], d[2] + 1, n).astype(float)
    elif kind == "beta":
        x = rng.beta(d[1], d[2], n)
    else:
        raise ValueError(kind)
    if shift is not None:
        # A mean shift of `shift` standard units (multiplicative for lognormal).
        x = x + shift * p["std"][1]
    if kind == "lognormal":
        x = np.exp(x)
    if f.lo is not None or f.hi is not None:
        x = np.clip(x, f.lo, f.hi)
    if f.decimals is not None:
        x = np.round(x, f.decimals)
    return x


def _draw(domain: Domain, params: dict, n: int, rng: np.random.Generator,
          shifts: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Clean feature values of n rows (numeric floats; categorical codes; no NULL yet)."""
    out: dict[str, np.ndarray] = {}
    for f in domain.features:
        p = params["features"][f.name]
        if isinstance(f, Num):
            out[f.name] = _draw_num(f, p, n, rng, (shifts or {}).get(f.name))
        else:
            out[f.name] = rng.choice(len(p["levels"]), size=n, p=p["weights"])
    return out


def _signal(domain: Domain, params: dict, X: dict[str, np.ndarray], flip: np.ndarray | None = None) -> np.ndarray:
    """The true linear predictor, (n,) or (n, K) for multiclass. `flip` in [0, 1] per row
    reverses the two strongest features' effects progressively (concept drift)."""
    n = len(next(iter(X.values())))
    k = len(domain.classes) if domain.task == "multiclass_classification" else 0
    total = np.zeros((n, k)) if k else np.zeros(n)
    total += params["intercept"]
    for f in domain.features:
        p = params["features"][f.name]
        if isinstance(f, Num):
            x = X[f.name]
            if f.dist[0] == "lognormal":
                x = np.log(np.maximum(x, 1e-9))
            c, s = p["std"]
            z = (x - c) / s
            if f.curve == "square":
                z = z * z - 1.0
            contrib = np.multiply.outer(z, p["effect"]) if k else z * float(p["effect"])
        else:
            eff = p["effect"]
            # Codes past the reference levels (unseen values) have no effect.
            padded = np.concatenate([eff, np.zeros((1,) + eff.shape[1:])])
            contrib = padded[np.minimum(X[f.name], len(eff))]
        if flip is not None and f.name in params["flip"]:
            factor = 1.0 - 2.0 * flip
            contrib = contrib * (factor[:, None] if k else factor)
        total += contrib
    return total


def _labels(domain: Domain, params: dict, signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Regression: target values. Classification: class indices into domain.classes."""
    if domain.task == "regression":
        y = signal + rng.normal(0, params["noise"], len(signal))
        if domain.target_lo is not None:
            y = np.maximum(y, domain.target_lo)
        return np.round(y, domain.target_decimals)
    if domain.task == "binary_classification":
        prob = 1.0 / (1.0 + np.exp(-signal))
        return (rng.random(len(signal)) < prob).astype(np.int64)
    e = np.exp(signal - signal.max(axis=1, keepdims=True))
    prob = e / e.sum(axis=1, keepdims=True)
    idx = (prob.cumsum(axis=1) < rng.random(len(signal))[:, None]).sum(axis=1)
    return np.minimum(idx, len(domain.classes) - 1).astype(np.int64)


def _pipeline(domain: Domain, estimator: str, random_state: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    linear = estimator in ("logistic", "ridge")
    nums = [f.name for f in domain.features if isinstance(f, Num) and not (linear and f.dist[0] == "lognormal")]
    logs = [f.name for f in domain.features if isinstance(f, Num) and linear and f.dist[0] == "lognormal"]
    cats = [f.name for f in domain.features if isinstance(f, Cat)]
    parts = []
    if nums:
        steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if linear else [])
        parts.append(("num", make_pipeline(*steps), nums))
    if logs:
        parts.append(("log", make_pipeline(SimpleImputer(strategy="median"),
                                           FunctionTransformer(np.log1p, feature_names_out="one-to-one"),
                                           StandardScaler()), logs))
    if cats:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats))
    regression = domain.task == "regression"
    if estimator == "logistic":
        model = LogisticRegression(C=1.0, max_iter=500)
    elif estimator == "ridge":
        model = Ridge(alpha=1.0)
    elif estimator == "hgb":
        cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        model = cls(max_iter=30, max_leaf_nodes=15, learning_rate=0.2, early_stopping=False,
                    random_state=random_state)
    else:
        cls = DecisionTreeRegressor if regression else DecisionTreeClassifier
        model = cls(max_depth=6, min_samples_leaf=30, random_state=random_state)
    return make_pipeline(ColumnTransformer(parts), model)


def _frame(domain: Domain, X: dict[str, np.ndarray]):
    """The model's input: numeric values, and categorical codes as floats with NaN for NULL."""
    import pandas as pd
    cols = {}
    for f in domain.features:
        x = X[f.name]
        if isinstance(f, Cat):
            x = np.where(x < 0, np.nan, x.astype(float))
        cols[f.name] = x
    return pd.DataFrame(cols)


def _with_missing(domain: Domain, X: dict[str, np.ndarray], rng: np.random.Generator,
                  extra: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The logged values: baseline NULL shares (plus `extra` per-row NULL probabilities)."""
    out = {}
    for f in domain.features:
        x = X[f.name]
        p = f.missing
        if extra and f.name in extra:
            p = np.maximum(p, extra[f.name])
        if np.any(p > 0):
            mask = rng.random(len(x)) < p
            if mask.any():
                x = x.copy()
                x[mask] = np.nan if isinstance(f, Num) else -1
        out[f.name] = x
    return out


def _predict(domain: Domain, pipe, frame) -> tuple[np.ndarray, np.ndarray | None]:
    """(prediction, score): regression values, or class indices and the positive class score."""
    if domain.task == "regression":
        return np.round(pipe.predict(frame), 4), None
    if domain.task == "binary_classification":
        score = pipe.predict_proba(frame)[:, list(pipe.classes_).index(1)]
        return (score >= 0.5).astype(np.int64), np.round(score, 6)
    return np.asarray(pipe.predict(frame), dtype=np.int64), None


def _layout(plan: ModelPlan, days: int, end_ms: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted inference timestamps (epoch ms): rows of day k fall in (start_k, start_k + 24 h]."""
    chunks = []
    for k in range(days):
        age = days - 1 - k                        # 0 = the last 24 h
        day_end = end_ms - age * _DAY_MS
        weekday = datetime.fromtimestamp(day_end / 1000, tz=timezone.utc).weekday()
        n = plan.rows_per_day
        if plan.scenario != "too-little-data":
            n = max(MIN_ROWS_PER_DAY, int(round(n * (1.0 + 0.05 * math.cos(2 * math.pi * (weekday - 5) / 7)))))
        if plan.scenario == "volume-drop" and age == 0:
            n = int(round(n * 0.06))
        if plan.scenario == "stale" and age < 3:
            n = 0
        if n:
            chunks.append(np.sort(day_end - _DAY_MS + rng.integers(1, _DAY_MS + 1, n)))
    ts = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    if len(ts) and ts[-1] > end_ms - _DAY_MS:
        # The newest row sits just before `end`, so the store's as_of is exactly `end`.
        ts[-1] = end_ms - 1000 * (1 + plan.index % 50)
        ts = np.sort(ts)
    return ts


def _text(codes: np.ndarray, vocabulary):
    """Arrow text array from codes into a vocabulary (-1: NULL), decoded in C."""
    import pyarrow as pa
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(vocabulary), type=pa.string())).cast(pa.string())


def _classes(domain: Domain, idx: np.ndarray):
    """Class indices as the label values of the files (integers or text)."""
    import pyarrow as pa
    if isinstance(domain.classes[0], str):
        return _text(idx, domain.classes)
    return pa.array(np.asarray(domain.classes, dtype=np.int64)[idx])


def _write_parquet(path: Path, columns: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    arrays = {}
    for name, values in columns.items():
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            arrays[name] = values
        elif name == "ts":
            arrays[name] = pa.array(values.astype("datetime64[ms]"), type=pa.timestamp("ms", tz="UTC"))
        else:
            arrays[name] = pa.array(values, from_pandas=True)   # float NaN -> NULL
    pq.write_table(pa.table(arrays), path, compression="snappy")


def generate_model(plan: ModelPlan, days: int, end: datetime, seed: int, out_dir: str) -> dict[str, Any]:
    """Generate one model's files; returns its spec and [(kind, path), ...] in ingest order."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _generate(plan, days, end, seed, Path(out_dir))


def _generate(plan: ModelPlan, days: int, end: datetime, seed: int, out: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    domain = DOMAINS[plan.domain]
    rng = np.random.default_rng((seed, plan.index))
    params = _vary(domain, rng)
    spec = model_spec(plan)
    cats = [f for f in domain.features if isinstance(f, Cat)]
    vocab = {f.name: list(params["features"][f.name]["levels"]) for f in cats}

    # Training and hold-out sets, from the same (pre-deployment) distribution.
    n_fit = N_TRAIN + (N_REFERENCE if plan.labels == "none" else N_REFERENCE_LABELLED)
    X = _draw(domain, params, n_fit, rng)
    y = _labels(domain, params, _signal(domain, params, X), rng)
    Xl = _with_missing(domain, X, rng)
    frame = _frame(domain, Xl)
    train, hold = slice(0, N_TRAIN), slice(N_TRAIN, n_fit)
    pipe = _pipeline(domain, plan.estimator, random_state=plan.index)
    pipe.fit(frame.iloc[train], y[train])
    ref_pred, ref_score = _predict(domain, pipe, frame.iloc[hold])

    def feature_columns(values: dict[str, np.ndarray], rows) -> dict[str, Any]:
        return {f.name: (_text(values[f.name][rows], vocab[f.name]) if isinstance(f, Cat)
                         else values[f.name][rows]) for f in domain.features}

    def outputs(label, pred) -> Any:
        return pred if domain.task == "regression" else _classes(domain, pred)

    files: list[tuple[str, str]] = []
    ref_cols = feature_columns(Xl, hold)
    ref_cols["label"] = outputs(None, y[hold])
    ref_cols["prediction"] = outputs(None, ref_pred)
    if plan.has_score:
        ref_cols["score"] = ref_score
    path = out / f"{plan.model_id}.reference.parquet"
    _write_parquet(path, ref_cols)
    files.append(("reference", str(path)))

    # Inference logs.
    end_ms = int(end.timestamp() * 1000)
    ts = _layout(plan, days, end_ms, rng)
    n = len(ts)
    age = (end_ms - ts) / _DAY_MS                    # days before `end`, in (0, days]
    last = age < 1.0
    shifts = None
    if plan.scenario == "gradual-drift":
        shifts = {domain.drift: 1.0 * np.clip(1.0 - age / RAMP_DAYS, 0.0, 1.0)}
    Xi = _draw(domain, params, n, rng, shifts)
    if plan.scenario == "unseen-categories":
        feat, new = domain.unseen
        base = len(vocab[feat])
        vocab[feat] = vocab[feat] + list(new)
        hit = last & (rng.random(n) < 0.5)
        Xi[feat] = np.where(hit, base + rng.integers(len(new), size=n), Xi[feat])
    flip = np.clip(1.0 - age / RAMP_DAYS, 0.0, 1.0) if plan.scenario == "performance-decay" else None
    yi = _labels(domain, params, _signal(domain, params, Xi, flip), rng)
    # What upstream logged (and served to the model).
    extra_missing = {domain.missing: np.where(last, 0.40, 0.0)} if plan.scenario == "missing-spike" else None
    Xs = _with_missing(domain, Xi, rng, extra_missing)
    if plan.scenario == "out-of-range":
        feat, factor, offset, _ = domain.units
        Xs[feat] = np.where(last, np.round(Xs[feat] * factor + offset, 2), Xs[feat])
    if plan.scenario == "schema-missing-column":
        feat = domain.dropped
        Xs[feat] = np.where(last, -1 if Xs[feat].dtype.kind == "i" else np.nan, Xs[feat])
    inf_frame = _frame(domain, Xs)
    pred, score = _predict(domain, pipe, inf_frame)
    if plan.scenario == "prediction-drift" and n:
        # A v2 model with a bug in its training data (the target shifted up by 1.2 standard
        # deviations; the positive class over-sampled 15 times; the most common class's labels
        # mapped onto the rarest class), rolled out six days ago after a day as a 25% canary.
        v2 = _pipeline(domain, plan.estimator, random_state=plan.index + 1)
        Xt, yt = frame.iloc[train], y[train]
        if domain.task == "regression":
            v2.fit(Xt, yt + 1.2 * yt.std())
        elif domain.task == "binary_classification":
            idx = np.concatenate([np.arange(len(yt))] + [np.flatnonzero(yt == 1)] * 14)
            v2.fit(Xt.iloc[idx], yt[idx])
        else:
            counts = np.bincount(yt, minlength=len(domain.classes))
            merged = np.where(yt == np.argmax(counts), np.argmin(counts), yt)
            v2.fit(Xt, merged)
        share = np.where(age < 6.0, 1.0, np.where(age < 7.0, 0.25, 0.0))
        on_v2 = np.flatnonzero(rng.random(n) < share)
        if len(on_v2):
            p2, s2 = _predict(domain, v2, inf_frame.iloc[on_v2])
            pred[on_v2] = p2
            if score is not None:
                score[on_v2] = s2

    # Request ids: "<model index>-<row>", unique in the fleet.
    rid = pc.binary_join_element_wise(f"{plan.index:04d}", pa.array(np.arange(n)).cast(pa.string()), "-")
    cols: dict[str, Any] = {"ts": ts, "request_id": rid}
    cols.update(feature_columns(Xs, slice(None)))
    cols["prediction"] = outputs(None, pred)
    if plan.has_score:
        cols["score"] = score
    if plan.labels == "logged":
        cols["label"] = outputs(None, yi)
    # One file per model; the schema scenarios split off the last 24 h into a second file,
    # where the change lands (fewer files keep the build fast: every file costs a transaction).
    split = plan.scenario in ("schema-missing-column", "schema-extra-column")
    for part, mask in ((("1", ~last), ("2", last)) if split else (("1", np.ones(n, dtype=bool)),)):
        if not mask.any():
            continue
        where = pa.array(mask)
        sub = {k: (v.filter(where) if isinstance(v, pa.Array) else v[mask]) for k, v in cols.items()}
        if part == "2" and plan.scenario == "schema-missing-column":
            sub.pop(domain.dropped)
        if part == "2" and plan.scenario == "schema-extra-column":
            colname, values = domain.extra
            sub[colname] = _text(rng.integers(len(values), size=int(mask.sum())), values)
        path = out / f"{plan.model_id}.inference-{part}.parquet"
        _write_parquet(path, sub)
        files.append(("inference", str(path)))
    if plan.labels == "late" and n:
        # Labels arrive within a day for most rows: enough labelled rows in the 7-day window
        # that a healthy model's metric stays well inside the 5% yellow band. Healthy models'
        # label files cover the last 14 days (a smaller store; the decay is seen from its start).
        healthy = plan.scenario == "healthy"
        lag = float(rng.choice([0.5, 1.0])) if healthy else 1.0
        coverage = rng.uniform(0.9, 1.0) if healthy else 0.85
        pick = (age >= lag) & (age < (14.0 if healthy else days + 1.0)) & (rng.random(n) < coverage)
        # Labels arrive in their own order (not the inference order).
        order = np.flatnonzero(pick)[rng.permutation(int(pick.sum()))]
        path = out / f"{plan.model_id}.labels.parquet"
        _write_parquet(path, {"request_id": rid.take(pa.array(order)), "label": outputs(None, yi[order])})
        files.append(("labels", str(path)))
    return {"model_id": plan.model_id, "spec": spec, "files": files, "inference_rows": int(n)}


# --------------------------------------------------------------------------------------------
# Building the store
# --------------------------------------------------------------------------------------------

def write_demo_files(out_dir: str | os.PathLike, *, models: int = 200, days: int = 30, seed: int = 0,
                     end: datetime = DEMO_END, workers: int | None = None):
    """Generate the fleet's files into out_dir; yields each model's result in plan order."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    plans = plan_fleet(models, seed=seed)
    out_dir = str(out_dir)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if workers <= 1 or len(plans) <= 2:
        for plan in plans:
            yield plan, generate_model(plan, days, end, seed, out_dir)
        return
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(generate_model, plan, days, end, seed, out_dir) for plan in plans]
        for plan, fut in zip(plans, futures):
            yield plan, fut.result()
    finally:
        # Also when the consumer stops early (an error while ingesting): drop what is queued.
        pool.shutdown(wait=True, cancel_futures=True)


def build_demo(db_path: str | os.PathLike | None = None, *, models: int = 200, days: int = 30, seed: int = 0,
               end: datetime = DEMO_END, workers: int | None = None) -> dict[str, Any]:
    """Build the demo fleet into the store at db_path through the real ingestion path.

    Returns a JSON-ready summary: models, rows (inference rows; all kinds in rows_by_kind),
    files (ingested / skipped), seconds, scenario
    counts, the showcase model of each scenario, and the end instant. Files that an earlier
    identical build already ingested are skipped by ingest (same content hash). Raises
    RuntimeError if the store rejects a generated file (a bug, never expected).
    """
    from lib.ingest.pipeline import ingest_file, register_spec
    from lib.store.connection import Store

    started = time.perf_counter()
    if end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    store = Store(db_path)
    rows = {"reference": 0, "inference": 0, "labels": 0}
    outcomes = {"ingested": 0, "skipped": 0}
    scenarios: dict[str, list[str]] = {name: [] for name in SCENARIOS}
    teams: set[str] = set()
    ingest_seconds = 0.0
    tmp = tempfile.mkdtemp(prefix="driftlight-demo-")
    results = write_demo_files(tmp, models=models, days=days, seed=seed, end=end, workers=workers)
    try:
        # Start the workers (fork) before the store connection opens.
        first = next(results, None)
        with store.batch():
            item = first
            while item is not None:
                plan, result = item
                ingest_started = time.perf_counter()
                register_spec(store, result["spec"], source="demo")
                for kind, path in result["files"]:
                    outcome = ingest_file(store, kind, plan.model_id, path)
                    if outcome.status == "rejected":
                        raise RuntimeError(f"demo: {plan.model_id}: {outcome.message}")
                    outcomes[outcome.status] += 1
                    rows[kind] += outcome.rows
                    os.unlink(path)
                scenarios[plan.scenario].append(plan.model_id)
                teams.add(plan.team)
                ingest_seconds += time.perf_counter() - ingest_started
                item = next(results, None)
    finally:
        results.close()
        shutil.rmtree(tmp, ignore_errors=True)
    n_models = sum(len(v) for v in scenarios.values())
    return {
        "db": str(store.path),
        "models": n_models,
        "teams": len(teams),
        "rows": rows["inference"],
        "rows_by_kind": rows,
        "files": outcomes,
        "seconds": round(time.perf_counter() - started, 2),
        "ingest_seconds": round(ingest_seconds, 2),   # of which spent registering and ingesting
        "scenarios": {k: len(v) for k, v in scenarios.items() if v},
        "showcase": {k: v[0] for k, v in scenarios.items() if v and k != "healthy"},
        "seed": seed,
        "days": days,
        "end": end.isoformat(),
    }

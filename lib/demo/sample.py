"""Drawing a demo model's rows from its domain template: the model's own variation, feature values
(categorical ones as integer codes, see lib.demo.generate), the true signal, labels and NULLs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lib.demo.domains import Domain, Num


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
        x = rng.normal(d[1], d[2], n)  # log scale; exponentiated below
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


def _draw(
    domain: Domain, params: dict, n: int, rng: np.random.Generator, shifts: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
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


def _with_missing(
    domain: Domain, X: dict[str, np.ndarray], rng: np.random.Generator, extra: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
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

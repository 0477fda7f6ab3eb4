"""One status type and one function that turns a value and its thresholds into a status.

Pages and reports only render these (STYLE.md habit 3).
"""

from __future__ import annotations

import numpy as np

GREEN, YELLOW, RED, GREY = "green", "yellow", "red", "grey"
STATUSES = (RED, YELLOW, GREY, GREEN)  # the order models are listed in
RANK = {RED: 0, YELLOW: 1, GREY: 2, GREEN: 3}
ICON = {RED: "⛔", YELLOW: "⚠️", GREY: "❔", GREEN: "✅"}
COLOR = {RED: "#dc2626", YELLOW: "#d97706", GREY: "#9ca3af", GREEN: "#16a34a"}


def crosses(value, threshold, direction: str):
    """Whether value is at or past threshold in the bad direction (vectorized over numpy)."""
    value = np.asarray(value, dtype="float64")
    threshold = np.asarray(threshold, dtype="float64")
    with np.errstate(invalid="ignore"):
        if direction == "above":
            hit = value >= threshold
        elif direction == "above_strict":
            hit = value > threshold
        elif direction == "below":
            hit = value < threshold
        else:
            raise ValueError(direction)
    return hit & ~np.isnan(threshold)


def judge(value, yellow, red, direction: str, grey=False):
    """Status per value: grey where `grey`, red past `red`, yellow past `yellow`, else green.

    A NaN value that is not marked grey is green (nothing to flag).

    >>> judge([0.05, 0.12, 0.3], 0.10, 0.25, "above").tolist()
    ['green', 'yellow', 'red']
    >>> judge([0.6, 0.3, 0.05], 0.5, 0.1, "below").tolist()
    ['green', 'yellow', 'red']
    """
    value = np.atleast_1d(np.asarray(value, dtype="float64"))
    out = np.full(value.shape, GREEN, dtype=object)
    out[crosses(value, yellow, direction)] = YELLOW
    out[crosses(value, red, direction)] = RED
    out[np.broadcast_to(np.asarray(grey, dtype=bool), value.shape)] = GREY
    return out


def worst(statuses) -> str:
    """Model status from check statuses: red, else yellow, else green (grey is decided apart)."""
    statuses = set(statuses)
    if RED in statuses:
        return RED
    if YELLOW in statuses:
        return YELLOW
    return GREEN

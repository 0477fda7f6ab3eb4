"""The instants an evaluation judges (as_of, as_of − 24 h, the day-ends of the last 30 days, the
timeline days; the hours of the last 48 h for `since`) and the window lengths that end at each (24 h, 7 days); `iso` writes an instant."""

from __future__ import annotations

import pandas as pd

HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)
SINCE_DAYS = 30
SINCE_HOURS = 48  # `since` walks back hour by hour this far, then day-end by day-end (DESIGN "Onset")


def iso(ts) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_localize("UTC").isoformat()


def instants_for(as_of: pd.Timestamp, timeline_days: int | None) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    """All evaluation instants needed, and the timeline's instants (oldest first)."""
    t1 = as_of - DAY
    wanted = {as_of, t1}
    last_day_end = as_of.floor("D")
    wanted.update(last_day_end - k * DAY for k in range(SINCE_DAYS + 1))
    before = t1.floor("D") if t1.floor("D") < t1 else t1.floor("D") - DAY
    wanted.update(before - k * DAY for k in range(7))
    timeline: list[pd.Timestamp] = []
    if timeline_days:
        last_date_end = (as_of - pd.Timedelta(microseconds=1)).floor("D") + DAY
        timeline = [min(last_date_end - k * DAY, as_of) for k in range(timeline_days - 1, -1, -1)]
        wanted.update(timeline)
    return sorted(wanted), timeline


def hourly_instants(as_of: pd.Timestamp) -> list[pd.Timestamp]:
    """The whole hours of the last 48 h before as_of, newest first (as_of − 1 h … as_of − 48 h):
    the hourly evaluations that give `since` its hour resolution."""
    return [as_of - k * HOUR for k in range(1, SINCE_HOURS + 1)]

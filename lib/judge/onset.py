"""`since` and `onset` of a reason (DESIGN.md, precise rules "Onset"), from the set of flagged
(instant, model, check, feature) of an evaluation.

- since: the earliest whole hour of the unbroken run of yellow-or-red evaluations up to as_of,
  walking back hour by hour over the last 48 h, then day-end by day-end (00:00 UTC) up to 30 days
  back. Hourly within 48 h, so a value first seen in the hour ending 01:00 says since 01:00, not
  the next day-end (issue 14).
- onset: "sudden" when the (check, feature) was green or grey at as_of − 24 h and at each of the
  7 day-ends before that; else "gradual".
"""

from __future__ import annotations

import pandas as pd

from lib.judge.windows import DAY, HOUR, SINCE_DAYS, SINCE_HOURS, iso


class Onset:
    """since / onset of any (model, check, feature) flagged at as_of."""

    def __init__(self, flag_set: set[tuple], wid: dict[pd.Timestamp, int], instants, as_of: pd.Timestamp):
        """`flag_set`: (wid, model_id, check, feature key) of every yellow-or-red evaluation;
        `wid`: the id of each judged instant; `instants`: every judged instant."""
        self.flag_set, self.as_of = flag_set, as_of
        hourly = [as_of - k * HOUR for k in range(SINCE_HOURS + 1)]
        oldest_hour = hourly[-1]
        day_ends = sorted(
            (t for t in instants if t == t.floor("D") and as_of - SINCE_DAYS * DAY <= t < oldest_hour), reverse=True
        )
        # newest first: the walk back in time, each instant with its window id (None: not judged)
        self.walk = [(t, wid.get(t)) for t in hourly + day_ends]
        t1 = as_of - DAY
        before = sorted((t for t in instants if t == t.floor("D") and t < t1), reverse=True)[:7]
        self.onset_wids = [wid.get(t) for t in [t1, *before]]

    def __call__(self, model_id: str, check: str, feature_key: str) -> tuple[str, str]:
        flags = self.flag_set
        since = self.as_of
        for t, w in self.walk:
            if (w, model_id, check, feature_key) not in flags:
                break
            since = t
        quiet = all((w, model_id, check, feature_key) not in flags for w in self.onset_wids)
        return iso(since), "sudden" if quiet else "gradual"

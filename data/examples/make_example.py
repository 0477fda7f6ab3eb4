"""Regenerate the worked example of the README ("Your first model") and docs/.

A small binary classifier, `loan-default`, that scores loan applications: its hold-out set
(reference.csv), two days of its prediction logs (day 1 as CSV, day 2 as Parquet) and the late
ground truth of day 1 (labels-day1.csv). Day 2 carries one injected problem: from that day on,
an upstream system sends loan applications through a new `channel`, "partner", that the model
never saw in training (~15 % of the day's rows). `python -m lib evaluate` names it:
`unseen_categories` on `channel`, red.

Deterministic (numpy seed): run it again and the files come out byte for byte the same
(with the same numpy, pandas and pyarrow versions):

    .venv/bin/python data/examples/make_example.py [FOLDER]   # default: beside this script

The generated files are committed; spec.yaml beside them is written by hand (it is the draft
that `python -m lib init` makes from reference.csv, reviewed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SEED = 20260301
REFERENCE_ROWS = 500
ROWS_PER_DAY = 480  # 20 an hour: above every check's min_rows (100) in each window
DAY1 = pd.Timestamp("2026-03-01T00:00:00Z")
CHANNELS = ["web", "branch", "phone"]
CHANNEL_SHARES = [0.6, 0.25, 0.15]
TERMS = [12, 24, 36, 60]
INCOME_RANGE, LOAN_RANGE = (18.0, 150.0), (2.0, 35.0)
NEW_CHANNEL, NEW_CHANNEL_SHARE = "partner", 0.15  # the day-2 problem


def applications(rng: np.random.Generator, n: int, *, new_channel_share: float = 0.0) -> pd.DataFrame:
    """n loan applications: the model's five features, with ~2 % of incomes not reported (NULL)."""
    age = rng.integers(21, 76, n)
    # Clipped to fixed bounds that the reference reaches (main() checks): a value beyond the
    # reference's [min, max] is what the out_of_range check counts, and the example should show
    # the one injected problem, not a long tail that a sample of 500 happened to miss.
    income = np.clip(np.round(rng.lognormal(np.log(48.0), 0.45, n), 1), *INCOME_RANGE)  # thousands a year
    income[rng.random(n) < 0.02] = np.nan
    loan_amount = np.clip(np.round(rng.gamma(4.0, 3.0, n), 1), *LOAN_RANGE)  # thousands
    term_months = rng.choice(TERMS, n, p=[0.2, 0.3, 0.35, 0.15])
    channel = rng.choice(CHANNELS, n, p=CHANNEL_SHARES).astype(object)
    channel[rng.random(n) < new_channel_share] = NEW_CHANNEL
    return pd.DataFrame(
        {"age": age, "income": income, "loan_amount": loan_amount, "term_months": term_months, "channel": channel}
    )


def outcomes(rng: np.random.Generator, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The true default (0/1) and the model's score: both driven by the same risk, the score noisier."""
    income = x["income"].fillna(48.0).to_numpy()
    risk = (
        -1.2
        + 0.09 * (x["loan_amount"].to_numpy() - 12.0)
        - 0.035 * (income - 48.0)
        - 0.025 * (x["age"].to_numpy() - 45.0)
        + 0.012 * (x["term_months"].to_numpy() - 30.0)
        + np.where(x["channel"].to_numpy() == "phone", 0.5, 0.0)
    )
    label = (rng.random(len(x)) < 1.0 / (1.0 + np.exp(-risk))).astype(int)
    score = 1.0 / (1.0 + np.exp(-(risk + rng.normal(0.0, 0.6, len(x)))))
    return label, np.round(score, 4)


def reference(rng: np.random.Generator) -> pd.DataFrame:
    x = applications(rng, REFERENCE_ROWS)
    label, score = outcomes(rng, x)
    ids = [f"val-{i:05d}" for i in range(1, REFERENCE_ROWS + 1)]
    return pd.concat([pd.DataFrame({"request_id": ids}), x], axis=1).assign(
        label=label, prediction=(score >= 0.5).astype(int), score=score
    )


def day_of_logs(rng: np.random.Generator, day: int, *, new_channel_share: float = 0.0) -> pd.DataFrame:
    """One day of prediction logs: timestamp (UTC), request_id, features, prediction, score, and the
    label that arrives later (returned here, written to a labels file, not to the logs)."""
    start = DAY1 + pd.Timedelta(days=day - 1)
    seconds = np.sort(rng.integers(0, 24 * 3600, ROWS_PER_DAY))
    x = applications(rng, ROWS_PER_DAY, new_channel_share=new_channel_share)
    label, score = outcomes(rng, x)
    ids = [f"req-{day}-{i:05d}" for i in range(1, ROWS_PER_DAY + 1)]
    head = pd.DataFrame({"timestamp": start + pd.to_timedelta(seconds, unit="s"), "request_id": ids})
    return pd.concat([head, x], axis=1).assign(prediction=(score >= 0.5).astype(int), score=score, label=label)


def main(out: Path = HERE) -> None:
    rng = np.random.default_rng(SEED)
    ref = reference(rng)
    for column, (lo, hi) in (("income", INCOME_RANGE), ("loan_amount", LOAN_RANGE)):
        assert (ref[column].min(), ref[column].max()) == (lo, hi), f"the reference misses a bound of {column}"
    day1 = day_of_logs(rng, 1)
    day2 = day_of_logs(rng, 2, new_channel_share=NEW_CHANNEL_SHARE)

    ref.to_csv(out / "reference.csv", index=False)
    # Day 1 as CSV: ISO8601 timestamps with an explicit UTC offset; an empty cell is NULL.
    logs1 = day1.drop(columns="label").assign(timestamp=day1["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    logs1.to_csv(out / "inference-2026-03-01.csv", index=False)
    # Day 2 as Parquet: a real timestamp type (UTC), integers and floats as such.
    logs2 = day2.drop(columns="label").assign(timestamp=day2["timestamp"].dt.as_unit("us"))
    pq.write_table(pa.Table.from_pandas(logs2, preserve_index=False), out / "inference-2026-03-02.parquet")
    # Late ground truth for day 1, joined to the logs by request_id.
    day1[["request_id", "label"]].to_csv(out / "labels-2026-03-01.csv", index=False)
    for name in sorted(p.name for p in out.iterdir() if p.suffix in (".csv", ".parquet")):
        print(f"{out / name}: {(out / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    # An optional folder to write to (tests regenerate into a temporary one and compare).
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)

"""Reports (issue 5): one model's or the fleet's health rendered as HTML, PDF, CSV or JSON.

- JSON is the `evaluate` shape (as_of, models with a 30-day timeline) plus a `report` block
  (kind, generated_at, store data version, policy source, filters, the charts' data): scripts read
  it like evaluate.
- CSV is the numbers behind the report in one long table (`section` says which part a row is).
- A detailed model that has had labels gets "Performance over time": its primary metric per day
  over 30 days (the model page's series), the reference and the effective threshold lines; a day
  without labels is a gap (null), never a zero.
- HTML is one self-contained file: Plotly's JavaScript inline once (first figure), no network
  request, interactive offline. Every name or value that came from users' data (model, feature,
  category) is escaped with html.escape, in the page and in the chart labels.
- PDF is that HTML printed to A4 by headless Chromium (lib/report_pdf.py), with page numbers.
The data come from lib/reports/data.py (`report_data`), which reads through the evaluation and the
store's reads only; this module renders them and writes nothing.
"""

from __future__ import annotations

import json

import pandas as pd

from lib.judge.policy import CHECKS_BY_NAME, Policy
from lib.reports.csvsafe import to_csv
from lib.reports.data import TIMELINE_DAYS, Filters, report_data
from lib.store.connection import Store

FORMATS = ("html", "pdf", "json", "csv")


# -- JSON and CSV -----------------------------------------------------------------------------
def to_json(data: dict) -> str:
    """The `evaluate` JSON (as_of, models) plus a `report` block describing the export."""
    out = {
        "as_of": data["as_of"],
        "models": data["models"],
        "report": {
            "kind": data["kind"],
            "model_id": data["model_id"],
            "generated_at": data["generated_at"],
            "data_version": data["data_version"],
            "policy_source": data["policy_source"],
            "filters": data["filters"],
            "timeline_days": TIMELINE_DAYS,
            "settings": data["settings"],
            "distributions": data["distributions"],
            "performance_over_time": data["performance_over_time"],
            "multivariate": data.get("multivariate"),  # model reports (issue 13); null in a fleet report
        },
    }
    return json.dumps(out, allow_nan=False, indent=1)


CSV_COLUMNS = [
    "section",
    "model_id",
    "model_status",
    "check",
    "feature",
    "kind",
    "status",
    "metric",
    "value",
    "threshold",
    "yellow",
    "red",
    "threshold_source",
    "since",
    "onset",
    "date",
    "message",
]


def csv_rows(data: dict) -> list[list]:
    rows: list[list] = []

    def row(section, m, **kw):
        rows.append([section, m["model_id"], m["status"]] + [kw.get(c) for c in CSV_COLUMNS[3:]])

    for m in data["models"]:
        row("model", m, metric="rows_24h", value=m.get("rows_24h"), message=m.get("name"), date=m.get("last_inference"))
        for r in m["reasons"]:
            row(
                "reason",
                m,
                check=r["check"],
                feature=r["feature"],
                status=r["status"],
                value=r["value"],
                threshold=r["threshold"],
                threshold_source=r.get("threshold_source"),
                since=r.get("since"),
                onset=r.get("onset"),
                message=r["message"],
            )
            for u in r.get("unseen_values") or []:
                row(
                    "unseen_value",
                    m,
                    check=r["check"],
                    feature=r["feature"],
                    metric="count",
                    value=u["count"],
                    date=u.get("first_seen"),
                    message=u["value"],
                )
        for f in m.get("features", []):
            for metric in (
                "psi",
                "js",
                "chi2_p",
                "ks",
                "wasserstein",
                "missing_share",
                "unseen_share",
                "out_of_range_share",
            ):
                if metric in f:
                    row(
                        "feature",
                        m,
                        feature=f["feature"],
                        kind=f["kind"],
                        status=f.get("status"),
                        metric=metric,
                        value=f[metric],
                    )
        if m.get("prediction_drift"):
            row(
                "prediction_drift",
                m,
                metric="psi",
                value=m["prediction_drift"]["psi"],
                message=m["prediction_drift"]["on"],
            )
        perf = m.get("performance")
        if perf:
            for metric in ("reference", "current", "loss", "n_labeled"):
                row(
                    "performance",
                    m,
                    metric=f"{perf['metric']}_{metric}" if metric != "n_labeled" else metric,
                    value=perf.get(metric),
                )
        series = data["performance_over_time"].get(m["model_id"])
        for day in (series or {}).get("days", []):
            row(
                "performance_day",
                m,
                check="performance",
                metric=series["metric"],
                value=day["value"],
                date=day["date"],
                message=f"{day['n_labeled']} labelled rows",
            )
        for c in m.get("checks", []):
            row(
                "policy",
                m,
                check=c["check"],
                feature=c["feature"],
                status=c["status"],
                value=c["value"],
                yellow=c["yellow"],
                red=c["red"],
                threshold_source=c.get("threshold_source"),
            )
        for t in m.get("timeline", []):
            row("timeline", m, status=t["status"], date=t["date"])
        if data.get("kind") == "model":
            from lib.reports.multivariate import csv_rows as mv_rows

            for kw in mv_rows(data.get("multivariate")):
                row("multivariate", m, **kw)
    return rows


def to_csv_text(data: dict) -> str:
    return to_csv(CSV_COLUMNS, csv_rows(data))


# -- the face ---------------------------------------------------------------------------------
def render_report(
    store: Store,
    fmt: str,
    *,
    model_id: str | None = None,
    filters: Filters | None = None,
    as_of: pd.Timestamp | None = None,
    policy: Policy | None = None,
    result: dict | None = None,
    multivariate: bool = False,
) -> bytes:
    """The report in one of FORMATS, as bytes ready to write or download (`multivariate`: train
    the domain classifier of a model report when no cached result exists)."""
    data = report_data(
        store, model_id=model_id, filters=filters, as_of=as_of, policy=policy, result=result, multivariate=multivariate
    )
    if fmt == "json":
        return to_json(data).encode("utf-8")
    if fmt == "csv":
        return to_csv_text(data).encode("utf-8")
    from lib.reports.html import to_html

    html_text = to_html(data)
    if fmt == "html":
        return html_text.encode("utf-8")
    if fmt == "pdf":
        from lib.reports.pdf import html_to_pdf

        return html_to_pdf(html_text)
    raise ValueError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")


def file_name(fmt: str, *, model_id: str | None, as_of: str | None) -> str:
    stamp = (as_of or "empty")[:13].replace(":", "")
    return f"driftlight-{model_id or 'fleet'}-{stamp}.{fmt}"


__all__ = ["render_report", "to_json", "to_csv_text", "file_name", "CHECKS_BY_NAME"]

"""The report's segments section (issue 13): which segment each reason is concentrated in, and,
for one model's report, every segment's rows and its values of the flagged checks."""

from __future__ import annotations

from html import escape
from typing import Any

_LABEL = {"missing": "missing", "unseen_categories": "unseen", "out_of_range": "out of range", "feature_drift": "PSI"}
_METRIC = {
    "missing": "missing_share",
    "unseen_categories": "unseen_share",
    "out_of_range": "out_of_range_share",
    "feature_drift": "psi",
}


def _num(value: Any, share: bool) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}%" if share else f"{value:.3g}"


def segments_html(m: dict[str, Any]) -> str:
    """'' for a model without a named segment or a segments block."""
    named = [r for r in m.get("reasons", []) if r.get("segment")]
    blocks = m.get("segments") or []
    if not named and not blocks:
        return ""
    out = ["<h3>Segments</h3>"]
    if named:
        out.append(
            "<table><tr><th>check</th><th>feature</th><th>concentrated in</th><th>share of the problem</th>"
            "<th>in the segment</th><th>elsewhere</th><th>rows</th></tr>"
        )
        for r in named:
            s, share = r["segment"], r["check"] in ("missing", "unseen_categories", "out_of_range")
            out.append(
                f"<tr><td>{escape(r['check'])}</td><td>{escape(str(r['feature'] or '–'))}</td>"
                f"<td><code>{escape(s['feature'])} = {escape(str(s['value']))}</code></td>"
                f"<td class=num>{_num(s['share_of_problem'], True)}</td>"
                f"<td class=num>{_num(s['value_in_segment'], share)}</td>"
                f"<td class=num>{_num(s['value_elsewhere'], share)}</td><td class=num>{s['rows']:,}</td></tr>"
            )
        out.append("</table>")
    flagged = [(r["check"], r["feature"]) for r in m.get("reasons", []) if r["check"] in _METRIC and r["feature"]]
    for block in blocks:
        cols = [(c, f) for c, f in flagged if f != block["feature"]][:4]
        head = "".join(f"<th>{escape(f)}: {_LABEL[c]}</th>" for c, f in cols)
        out.append(
            f"<p class=note>By <code>{escape(block['feature'])}</code> (the reference's most frequent values, "
            f"(other), (missing)):</p><table><tr><th>segment</th><th>rows 24 h</th><th>rows 7 d</th>{head}</tr>"
        )
        for v in block["values"]:
            feats = {f["feature"]: f for f in v["features"]}
            cells = "".join(
                f"<td class=num>{_num(feats.get(f, {}).get(_METRIC[c]), c != 'feature_drift')}</td>" for c, f in cols
            )
            out.append(
                f"<tr><td><code>{escape(str(v['value']))}</code></td><td class=num>{v['rows_24h']:,}</td>"
                f"<td class=num>{v['rows_7d']:,}</td>{cells}</tr>"
            )
        out.append("</table>")
    return "".join(out)

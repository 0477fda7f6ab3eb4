"""The model report's "Multivariate drift" section (issue 13): the domain classifier's result for
(model, as_of, data_version) when one is cached beside the store (the Drift tab's button or
`python -m lib multivariate` put it there), else the command that computes it.

A report never trains the classifier unasked: it takes seconds per model, and a fleet report
would multiply that. `report --model ID --multivariate` asks, and the result is cached as the
command's is. The block's `result` is the multivariate command's JSON for the same as_of.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from lib.store.connection import Store
from lib.store.profiles import round_up_hour


def command(model_id: str, as_of: str) -> str:
    """The command line that computes (and caches) the result this report looks for."""
    return f"python -m lib multivariate --model {model_id} --as-of {as_of}"


def multivariate_block(store: Store, model_id: str, as_of: str | None, *, compute: bool = False) -> dict[str, Any]:
    """`{"computed", "result", "command"}`: the cached (or, with compute, fresh) result, or None."""
    from lib.judge.multivariate import cached_multivariate, multivariate_drift

    if as_of is None:  # no inference yet: nothing to compare with the reference
        return {"computed": False, "result": None, "command": None}
    ts = round_up_hour(pd.Timestamp(as_of))
    result = multivariate_drift(store, model_id, ts) if compute else cached_multivariate(store, model_id, ts)
    return {"computed": result is not None, "result": result, "command": command(model_id, as_of)}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def section_html(block: dict[str, Any] | None) -> str:
    """The HTML section; every value escaped (feature names are users' data)."""
    out = ["<h3>Multivariate drift</h3>"]
    if block is None or block.get("command") is None:
        out.append('<p class="note">No inference logged yet: nothing to compare with the reference.</p>')
        return "\n".join(out)
    if not block["computed"]:
        out.append(
            '<p class="note">Not computed for this as-of time and data version — run '
            f"<code>{_e(block['command'])}</code> (a domain classifier, a few seconds) and export again, or "
            "add <code>--multivariate</code> to the <code>report</code> command.</p>"
        )
        return "\n".join(out)
    r = block["result"]
    if r.get("auc") is None:
        out.append(
            f'<p class="note">Too few rows to train a domain classifier ({_e(r.get("n_reference"))} reference, '
            f"{_e(r.get('n_current'))} in the window; 10 each at least). Computed {_e(r.get('computed_at'))}.</p>"
        )
        return "\n".join(out)
    folds = r.get("fold_aucs") or []
    spread = f"{min(folds):.3f}–{max(folds):.3f} over {len(folds)} folds" if folds else "–"
    status = r.get("status") or "grey"
    out.append(
        "<table>"
        f"<tr><th>domain classifier ROC AUC (reference vs last 7 days)</th><td class=num>{r['auc']:.3f}</td>"
        f'<td><span class="badge {_e(status)}">{_e(status)}</span> '
        "<span class=note>hint: yellow at 0.60, red at 0.75; 0.5 = alike</span></td></tr>"
        f"<tr><th>fold AUCs</th><td class=num>{_e(spread)}</td><td class=note>"
        f"{_e(', '.join(f'{a:.3f}' for a in folds))}</td></tr>"
        f"<tr><th>rows compared</th><td class=num>{r['n_reference']:,} / {r['n_current']:,}</td>"
        "<td class=note>reference / last 7 days (each a seeded sample of at most 5,000)</td></tr>"
        f"<tr><th>computed</th><td colspan=2>{_e(r.get('computed_at'))} · data version {_e(r.get('data_version'))}"
        f" · as of {_e(r.get('as_of'))}</td></tr></table>"
    )
    if r.get("features"):
        out.append(
            "<table><tr><th>feature that separates them most</th><th>held-out AUC drop when permuted</th>"
            "<th>± (std over 5 repeats)</th></tr>"
        )
        for f in r["features"]:
            out.append(
                f"<tr><td>{_e(f['feature'])}</td><td class=num>{f['importance']:.4f}</td>"
                f"<td class=num>{f['std']:.4f}</td></tr>"
            )
        out.append("</table>")
    out.append(f'<p class="note">{_e(r.get("method"))}. The same JSON: <code>{_e(block["command"])}</code>.</p>')
    return "\n".join(out)


def csv_rows(block: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The numbers behind the section for the report CSV: the AUC, each fold, each feature."""
    r = (block or {}).get("result")
    if not r or r.get("auc") is None:
        return []
    rows = [{"metric": "domain_auc", "value": r["auc"], "status": r.get("status"), "date": r.get("computed_at")}]
    rows += [{"metric": f"domain_auc_fold_{i + 1}", "value": a} for i, a in enumerate(r.get("fold_aucs") or [])]
    rows += [
        {"metric": "permutation_importance", "feature": f["feature"], "value": f["importance"]}
        for f in r.get("features") or []
    ]
    return rows

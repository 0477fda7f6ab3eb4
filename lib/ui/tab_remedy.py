"""The Data quality tab's "What to do" panel for new category values (issue 13).

Two ways out and the follow-up, ready to use: (1) download a category mapping file (YAML or
JSON) mapping each unseen value to a default the owner picks; (2) notify the feed's upstream
contact (spec `upstream:`); (3) trigger the retrain once the values should be learned. Each is
done by lib/actions/remedy.py, which writes the audit log (who, when, what).
"""

from __future__ import annotations

import html
import shlex
from typing import TYPE_CHECKING

import streamlit as st

from lib.actions import remedy
from lib.actions.config import load_config, redact
from lib.judge.remedy import mapping_document, render_mapping
from lib.ui.auth import current_actor
from lib.ui.store_access import _store, guarded

if TYPE_CHECKING:
    from lib.ui.frame import Context


@st.cache_data(show_spinner=False, max_entries=64)
def _spec(path: str, version: int, model_id: str) -> dict:
    return remedy.model_spec(_store(path), model_id)


def render(ctx: Context, model_id: str, m: dict) -> None:
    with guarded():
        spec = _spec(ctx.path, ctx.version, model_id)
    inc = remedy.incident_from(m, spec, m.get("as_of") or ctx.as_of)
    if not inc.reasons:
        return
    st.markdown("##### What to do about the new values")
    n = sum(len(v) for v in inc.unseen.values())
    st.caption(
        f"{n} value(s) that the model never saw in training arrived in the last 24 h. Two ways out: map them to a "
        "value the model knows until a retrain, or have the feed fixed; then retrain once they should be learned. "
        "Each action is recorded in the audit log (Alerts page)."
    )
    done = st.session_state.setdefault(f"rm_done_{model_id}", {})
    c1, c2, c3 = st.columns(3, border=True)
    with c1:
        st.markdown("**1 · Map them to a known value**")
        picks = {}
        for feature, r in inc.reasons.items():
            choices = r["remedy"]["choices"]
            if not choices:
                st.caption(f"{feature}: the reference has no value to map to.")
                continue
            labels = {c["value"]: f"{c['value']} ({c['reference_share']:.0%} of the reference)" for c in choices}
            picks[feature] = st.selectbox(
                f"Map {feature}'s {len(r['unseen_values'])} new value(s) to",
                list(labels),
                format_func=labels.get,
                key=f"rm_pick_{model_id}_{feature}",
                help="Offered: the reference's catch-all value (such as `other`) if it has one, and its most "
                "frequent value. Any other reference value: `python -m lib remedy --map-unseen-to VALUE`.",
            )
            why = next(c["why"] for c in choices if c["value"] == picks[feature])
            st.caption(f"{', '.join(u['value'] for u in r['unseen_values'])} → **{picks[feature]}** ({why})")
        if picks:
            doc = mapping_document(
                model_id, inc.as_of, {f: (v, inc.reasons[f]["unseen_values"]) for f, v in picks.items()}
            )
            b1, b2 = st.columns(2)
            for col, fmt, mime in ((b1, "yaml", "application/yaml"), (b2, "json", "application/json")):
                col.download_button(
                    f"Mapping {fmt.upper()}",
                    render_mapping(doc, fmt),
                    file_name=f"{model_id}-category-mapping.{fmt}",
                    mime=mime,
                    key=f"rm_dl_{fmt}",
                    icon=":material/download:",
                    width="stretch",
                    on_click=_log_download,
                    args=(ctx.path, model_id, doc, fmt),
                )
            first = next(iter(picks))
            st.caption("Or from the command line:")
            st.code(
                f"python -m lib remedy --model {model_id} --feature {shlex.quote(first)} "
                f"--map-unseen-to {shlex.quote(picks[first])} --out {model_id}-mapping.yaml",
                language="bash",
                wrap_lines=True,
            )
    actor = current_actor()
    may_act = actor.owns(spec.get("owner"), spec.get("team"))  # lib checks again (PermissionDenied)
    if not may_act:
        st.caption(f"Notices and retrains are for the model's owner or an admin (you are {actor.id}, {actor.role}).")
    with c2:
        st.markdown("**2 · Tell the feed's owner**")
        targets = remedy.upstream_targets(spec)
        if targets:
            st.caption("Upstream contact(s): " + ", ".join(html.escape(redact(t)) for t in targets))
            st.caption("The notice names each value, its rows in the last 24 h and when it was first seen.")
        else:
            st.caption("No upstream contact: add `upstream: [Apprise URL]` to the model's spec (docs/spec.md).")
        if st.button(
            "Notify upstream",
            key="rm_up",
            disabled=not targets or not may_act,
            icon=":material/outgoing_mail:",
            width="stretch",
        ):
            done["up"] = _act(ctx, remedy.notify_upstream, model_id, inc)
        _outcome(done.get("up"))
    with c3:
        st.markdown("**3 · Retrain to learn them**")
        retrain = remedy.retrain_targets(spec, load_config())
        if retrain:
            st.caption(
                "Retrain action: "
                + ", ".join(html.escape(redact(t if isinstance(t, str) else "command")) for _, t in retrain)
            )
        else:
            st.caption("No retrain action: add `actions.retrain_url` or `retrain_command` to the spec.")
        if st.button(
            "Trigger retrain",
            key="rm_rt",
            disabled=not retrain or not may_act,
            icon=":material/model_training:",
            width="stretch",
        ):
            done["rt"] = _act(ctx, remedy.trigger_retrain, model_id, inc)
        _outcome(done.get("rt"))


def _log_download(path: str, model_id: str, doc: dict, fmt: str) -> None:
    with guarded():
        remedy.log_mapping(_store(path), model_id, doc, fmt, actor=current_actor())


def _act(ctx: Context, fn, model_id: str, inc) -> list[dict] | str:
    try:
        with guarded(), st.spinner("Sending…"):
            return fn(_store(ctx.path), model_id, actor=current_actor(), inc=inc)
    except Exception as exc:  # an InputError (nothing configured) reads as a notice, never a traceback
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _outcome(rows) -> None:
    if rows is None:
        return
    if isinstance(rows, str):
        st.error(rows)
        return
    for r in rows:
        text = f"{r['outcome']} → {r['target']}" + (f" ({r['detail']})" if r.get("detail") else "")
        (st.success if r["outcome"] in ("delivered", "already delivered") else st.warning)(text)

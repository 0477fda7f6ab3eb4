"""Upload: register a spec and ingest reference / inference / labels files from the browser, for
admins and for owners on their own models — through the same validation as `python -m lib
register` / `ingest` (lib/actions/upload.py -> lib/ingest/pipeline.py): a rejected file gives the
command line's one-line reason and changes nothing."""

import streamlit as st

from lib.actions import upload as up
from lib.actions.roles import PermissionDenied
from lib.errors import InputError
from lib.ingest.pipeline import KINDS
from lib.ui.auth import access, current_actor
from lib.ui.frame import context, may_upload, owns_model
from lib.ui.store_access import guarded, store

ctx = context()
actor = current_actor()
st.title("Upload")
if not may_upload(actor):
    st.warning(
        f"**Sorry — uploads are for admins and model owners.** You are signed in as {actor.id} ({actor.role}) "
        "and own no model here. Ask a model's owner or an admin.",
        icon=":material/lock:",
    )
    st.stop()

limit_mb = access().upload_limit_mb
st.caption(
    f"The same checks as the command line: a file is ingested whole or not at all. Up to **{limit_mb} MB** per file "
    "(`[driftlight] upload_limit_mb`). CSV or Parquet."
)

# -- register a spec ------------------------------------------------------------------------------
with st.container(border=True):
    st.markdown("**Register or update a model** (a YAML spec, as for `python -m lib register`)")
    if not actor.admin:
        st.caption("As an owner you may update the specs of your own models; new models are registered by an admin.")
    spec_file = st.file_uploader("Spec (YAML)", type=["yaml", "yml"], key="up_spec", max_upload_size=1)
    if spec_file is not None and st.button("Register", key="up_register", type="primary"):
        try:
            with guarded():
                spec = up.register_upload(
                    store(), spec_file.getvalue().decode("utf-8", errors="replace"), spec_file.name, actor=actor
                )
        except (InputError, PermissionDenied) as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.success(f"{spec_file.name}: registered **{spec.model_id}**", icon=":material/check_circle:")

# -- ingest files -----------------------------------------------------------------------------------
with st.container(border=True):
    st.markdown("**Ingest files** (as `python -m lib ingest KIND --model ID FILE…`)")
    ids = [m for m in ctx.catalog["models"]["model_id"] if owns_model(actor, ctx, m)]
    c1, c2 = st.columns(2)
    model_id = c1.selectbox("Model", ids, key="up_model", index=None, placeholder="Choose one of your models…")
    kind = c2.segmented_control("Kind", list(KINDS), default="inference", key="up_kind") or "inference"
    files = st.file_uploader(
        "Files",
        type=["csv", "parquet", "pq"],
        accept_multiple_files=True,
        key="up_files",
        max_upload_size=limit_mb,
    )
    if st.button("Ingest", key="up_ingest", type="primary", disabled=not files or model_id is None):
        results = []
        with st.status(f"Ingesting {len(files)} file(s) into {model_id}…", expanded=True) as status:
            for f in files:
                total = max(f.size, 1)
                bar = st.progress(0.0, text=f"{f.name}: receiving")

                def tick(done: int, bar=bar, name=f.name, total=total) -> None:
                    text = (
                        f"{name}: checking and ingesting…"
                        if done >= total
                        else f"{name}: {done / 2**20:.1f} of {total / 2**20:.1f} MB received"
                    )
                    bar.progress(min(done / total, 1.0) * 0.5, text=text)

                try:
                    f.seek(0)
                    with guarded():
                        outcome = up.ingest_upload(
                            store(), kind, model_id, f.name, up.read_chunks(f), actor=actor, progress=tick
                        )
                except (InputError, PermissionDenied) as exc:
                    bar.progress(1.0, text=f"{f.name}: refused")
                    results.append(("rejected", str(exc)))
                    continue
                bar.progress(1.0, text=f"{f.name}: {outcome.status}")
                results.append((outcome.status, outcome.line()))
            bad = sum(s == "rejected" for s, _ in results)
            status.update(
                label=f"{len(results) - bad} of {len(results)} file(s) accepted" + (f", {bad} rejected" if bad else ""),
                state="error" if bad else "complete",
                expanded=bool(bad),
            )
        for s, line in results:
            if s == "rejected":
                st.error(line, icon=":material/error:")
            elif s == "skipped":
                st.info(line, icon=":material/content_copy:")
            else:
                st.success(line, icon=":material/check_circle:")

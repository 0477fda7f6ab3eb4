"""Driftlight: the app's entry point and frame (run with `streamlit run app.py`).

st.navigation routes to the pages in app_pages/ (not pages/: a folder of that name puts a fresh
Streamlit 1.67 server into legacy page discovery and breaks cold deep links — STYLE.md). The
frame runs before every page: page config, the login gate's hook, the sidebar (as-of time,
filters, search — bound to the URL's query parameters) and the store notices. The login gate
(lib/ui/auth.py) runs first, before st.navigation: a visitor not let in sees no page at all.
"""

from pathlib import Path

import streamlit as st

from lib.ui.frame import auth_gate, frame, may_upload

st.set_page_config(page_title="Driftlight", page_icon="🚦", layout="wide")
actor = auth_gate()  # before st.navigation: nothing of a page runs for a visitor not let in

HERE = Path(__file__).parent
pages = [
    st.Page("app_pages/fleet.py", title="Fleet", icon=":material/traffic:", default=True),
    st.Page("app_pages/model.py", title="Model", icon=":material/troubleshoot:", url_path="model"),
]
# Alerts and reports arrive in their own issue; list them only once their files exist.
for name, title, icon in (
    ("alerts", "Alerts", ":material/notifications:"),
    ("reports", "Reports", ":material/description:"),
):
    if (HERE / "app_pages" / f"{name}.py").is_file():
        pages.append(st.Page(f"app_pages/{name}.py", title=title, icon=icon, url_path=name))

pages.append(st.Page("app_pages/policy.py", title="Policy", icon=":material/tune:", url_path="policy"))
# Upload: admins and owners; listed for them only, a deep link still gets a polite refusal.
pages.append(
    st.Page(
        "app_pages/upload.py",
        title="Upload",
        icon=":material/upload_file:",
        url_path="upload",
        visibility="visible" if may_upload(actor) else "hidden",
    )
)
page = st.navigation(pages)
with st.sidebar:
    st.markdown("### Driftlight")
frame()
page.run()

"""Driftlight served with a start-up hook: `streamlit run serve.py` (what `make run` and the
container run; `streamlit run app.py` serves the same pages without the hook).

st.App (Streamlit's ASGI entry point) runs app.py's pages unchanged; its lifespan starts the
store's background judge (lib/ui/judged.py) as the server starts, so the fleet is being judged,
or its last judgment read back, before the first visitor arrives, and never by a visitor's wait.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st

from lib.ui.judged import forget_judges, shared_judge
from lib.ui.store_access import db_path


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    shared_judge(db_path())  # its thread reads the last result back, then judges newer data
    yield
    forget_judges()


app = st.App("app.py", lifespan=lifespan)

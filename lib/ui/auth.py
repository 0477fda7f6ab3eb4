"""The login gate (issue 10): Streamlit's built-in OIDC (st.login / st.user / st.logout), run by
app.py before st.navigation, so no page, deep link, download or fragment renders before it.

- Configuration is checked first (lib/actions/roles.config_problems, shared with
  `python -m lib check-config`): a bad setup stops the app with the reason.
- Without an `[auth]` table the app is unauthenticated on localhost, its user an admin.
- With `[auth]`: a logged-out visitor sees only the login screen (no model id, no data). A cold
  deep link (/model?model=ID) is remembered in the browser tab's sessionStorage — Streamlit's
  flow returns to the app's root and starts a new server session, so server-side session state
  cannot carry it — and opened once the user is back and logged in.
- A logged-in user outside `allowed_users` / `allowed_domains` sees a polite refusal.
The Actor (lib/actions/roles.py) is kept in session state for the pages (`current_actor`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from lib.actions.roles import Access, Actor, actor_for, config_problems, load_access, local_actor
from lib.errors import InputError

_ACTOR = "_dl_actor"
_TARGET_KEY = "driftlight-after-login"

# Remember where a logged-out visitor was going (same-origin paths only), for after the login.
_REMEMBER_JS = f"""<script>
(function() {{
  const t = window.location.pathname + window.location.search;
  if (t && t !== "/" && t.startsWith("/") && !t.startsWith("//") && !t.startsWith("/oauth2callback"))
    window.sessionStorage.setItem("{_TARGET_KEY}", t);
}})();
</script>"""
# After the login: go to the remembered page, once.
_RESTORE_JS = f"""<script>
(function() {{
  const t = window.sessionStorage.getItem("{_TARGET_KEY}");
  if (!t) return;
  window.sessionStorage.removeItem("{_TARGET_KEY}");
  const here = window.location.pathname + window.location.search;
  if (t.startsWith("/") && !t.startsWith("//") && t !== here) window.location.replace(t);
}})();
</script>"""


def secrets() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets file at all
        return {}


def auth_configured() -> bool:
    return "auth" in secrets()


def access() -> Access:
    try:
        return load_access(secrets().get("driftlight"))
    except InputError:
        return Access()  # config_problems has already stopped the app with the reason


def current_actor() -> Actor:
    actor = st.session_state.get(_ACTOR)
    return actor if actor is not None else gate()


def gate() -> Actor:
    """Stop the run unless the visitor may see the app; return who is acting."""
    conf = secrets()
    problems = config_problems(conf, st.get_option("server.address"))
    if problems:
        st.title(":material/traffic: Driftlight")
        st.error("**Driftlight will not start with this configuration.**\n\n" + "\n\n".join(f"- {p}" for p in problems))
        st.caption("Fix `.streamlit/secrets.toml` (see `.streamlit/secrets.toml.example`), then reload.")
        st.stop()
    acc = access()
    if "auth" not in conf:
        actor = local_actor()
        st.session_state[_ACTOR] = actor
        return actor
    if not st.user.is_logged_in:
        st.session_state.pop(_ACTOR, None)
        _login_screen()
        st.stop()
    email = str(st.user.get("email") or "")
    # An address the provider has not verified proves nothing about who logged in.
    if not acc.may_log_in(email) or st.user.get("email_verified") is False:
        st.session_state.pop(_ACTOR, None)
        _refusal(email)
        st.stop()
    actor = actor_for(acc, email)
    st.session_state[_ACTOR] = actor
    st.html(_RESTORE_JS, unsafe_allow_javascript=True)
    return actor


def _login_screen() -> None:
    st.html(_REMEMBER_JS, unsafe_allow_javascript=True)
    _, mid, _ = st.columns([1, 2, 1])
    with mid, st.container(border=True):
        st.markdown("## :material/traffic: Driftlight")
        st.markdown("Health of your team's ML models. **Log in to continue.**")
        st.button("Log in", on_click=st.login, type="primary", icon=":material/login:", key="dl_login")
        st.caption("You will come back to the page you opened once you are logged in.")


def _refusal(email: str) -> None:
    _, mid, _ = st.columns([1, 2, 1])
    with mid, st.container(border=True):
        st.markdown("## :material/traffic: Driftlight")
        st.warning(
            f"**Sorry — {email or 'this account'} has no access to this Driftlight.**\n\n"
            "Access is limited to the people and domains its administrators list. "
            "Ask one of them to add you, or log in with another account.",
            icon=":material/lock:",
        )
        st.button("Log out", on_click=st.logout, key="dl_refused_logout", icon=":material/logout:")


def sidebar_identity(actor: Actor) -> None:
    """Who is signed in and with which role (or that there is no login), in the sidebar."""
    if not auth_configured():
        st.caption(
            f":material/lock_open: **unauthenticated** — no login configured; serve on localhost only ({actor.id}, admin)"
        )
        return
    name = st.user.get("name") or actor.id
    st.caption(f"Signed in as **{name}** · {actor.id} · {actor.role}")
    st.button("Log out", on_click=st.logout, key="dl_logout", icon=":material/logout:", type="tertiary")

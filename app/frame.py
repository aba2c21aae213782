"""The picture frame every view sits in: sign-in, the shared sidebar, headers and empty states.

``app/main.py`` calls ``sign_in`` and ``sidebar`` once per run; views call ``context`` for the
signed-in user and the filters, ``header`` for their title and caption, and ``empty_state``
when the store holds nothing yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import streamlit as st

from app import data
from app.access import OPEN_USER, User, tenant_scope
from app.filters import CUSTOM, PERIODS, Filters, parse_filters
from app.formatting import md_code, md_literal
from app.sign_in_limits import SignInLimiter, SignInLimits
from app.users import UserRecord, authenticate, load_users, user_for_oidc
from models.errors import AccessError
from models.settings import Settings, load_settings

__all__ = ["Context", "context", "empty_state", "header", "settings", "sidebar", "sign_in"]

_USER_KEY = "_flowmeter_user"
_CONTEXT_KEY = "_flowmeter_context"


@dataclass(frozen=True)
class Context:
    """What a view needs from the frame."""

    user: User
    filters: Filters
    tenants: tuple[str, ...] | None  # the tenants every query of this run is limited to
    open_access: bool


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The process settings (validated once)."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def sign_in_limiter() -> SignInLimiter:
    """Failed sign-ins per user and per client, shared by every session of this process."""
    config = settings()
    return SignInLimiter(
        SignInLimits(
            per_user=config.signin_max_failures_per_user,
            per_client=config.signin_max_failures_per_client,
            window_seconds=config.signin_window_seconds,
        )
    )


def _client_address() -> str:
    # Streamlit's view of the peer; behind a proxy every client shares the proxy's address,
    # so the per-client limit then acts as a global one (the per-user limit still applies).
    return st.context.ip_address or "unknown"


def _oidc_enabled() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def sign_in() -> tuple[User, bool]:
    """The signed-in user and whether access is open; shows a sign-in form and stops otherwise."""
    config = settings()
    if config.users_file is None and not _oidc_enabled():
        return OPEN_USER, True
    users = load_users(config.users_file) if config.users_file else {}
    if _oidc_enabled() and st.user.is_logged_in:
        try:
            return user_for_oidc(users, st.user.to_dict()), False
        except AccessError as exc:
            st.error(md_literal(exc))
            st.button("Sign out", on_click=st.logout)
            st.stop()
    signed_in = st.session_state.get(_USER_KEY)
    if isinstance(signed_in, User):
        # Re-read every run: a removed user is signed out, a changed role applies at once.
        record = users.get(signed_in.name)
        if record is not None:
            return record.user(), False
        st.session_state.pop(_USER_KEY, None)
    _sign_in_form(users, oidc=_oidc_enabled())
    st.stop()
    raise AssertionError("unreachable: st.stop() ends the run")


def _sign_in_form(users: Mapping[str, UserRecord], *, oidc: bool) -> None:
    st.title("Flowmeter")
    st.caption("Sign in to see the dashboards.")
    if oidc:
        st.button("Sign in with single sign-on", on_click=st.login, type="primary")
    if not users:
        return
    with st.form("sign-in"):
        name = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        limiter, client = sign_in_limiter(), _client_address()
        try:
            limiter.check(name, client)
            try:
                st.session_state[_USER_KEY] = authenticate(users, name, password)
            except AccessError:
                limiter.failed(name, client)
                raise
        except AccessError as exc:
            st.error(md_literal(exc))
            return
        limiter.succeeded(name)
        st.rerun()


def sign_out() -> None:
    """Forget the signed-in user of this session (and the OIDC cookie, when there is one)."""
    st.session_state.pop(_USER_KEY, None)
    if _oidc_enabled() and st.user.is_logged_in:
        st.logout()


def _param(key: str) -> str:
    return str(st.query_params.get(key, ""))


def _choice(
    label: str, key: str, options: list[str], current: str, *, all_label: str, strict: bool = False
) -> str:
    """A selectbox over options with "all" first; the URL value wins when it is valid."""
    values = ["", *options]
    if strict and current not in values:
        current = ""
    if current and current not in values:
        values.append(current)  # keep a shared link's value visible even if it has no data yet
    widget_key = f"_filter_{key}"
    if widget_key not in st.session_state:
        st.session_state[widget_key] = current
    return str(
        st.selectbox(
            label,
            values,
            key=widget_key,
            format_func=lambda v: v or all_label,
        )
    )


def sidebar(user: User, *, open_access: bool) -> Context:
    """Draw the shared sidebar; keep its state in the URL; return the run's context."""
    now = datetime.now(UTC)
    max_days = settings().dashboard_max_days
    filters = parse_filters({k: _param(k) for k in ("range", "from", "to", "tenant",
                                                    "product_line", "workflow")}, now,
                            max_days)  # fmt: skip
    with st.sidebar:
        st.markdown("**Filters**")
        period_keys = [*PERIODS, CUSTOM]
        if "_filter_range" not in st.session_state:
            st.session_state["_filter_range"] = filters.range_key
        range_key = st.selectbox(
            "Period",
            period_keys,
            key="_filter_range",
            format_func=lambda k: PERIODS[k][0] if k in PERIODS else "Custom dates",
        )
        if range_key == CUSTOM:
            default_days = (filters.start.date(), (filters.end - timedelta(seconds=1)).date())
            picked = st.date_input("Dates (UTC)", value=default_days, key="_filter_dates")
            # Unchanged dates keep the URL's filters (and their notes, e.g. a cut period).
            if isinstance(picked, tuple) and len(picked) == 2 and picked != default_days:
                first, last = picked
                dims = {k: getattr(filters, k) for k in ("tenant", "product_line", "workflow")}
                filters = parse_filters({"from": str(first), "to": str(last), **dims}, now,
                                        max_days)  # fmt: skip
        elif range_key != filters.range_key or filters.range_key == CUSTOM:
            filters = filters.with_period(str(range_key), now)
        scope = tenant_scope(user)
        dims = data.dimensions(scope)
        tenant_options = list(user.tenants) if user.restricted else dims["tenant"]
        tenant = _choice("Tenant", "tenant", tenant_options, filters.tenant,
                         all_label="All tenants", strict=user.restricted)  # fmt: skip
        product_line = _choice("Product line", "product_line", dims["product_line"],
                               filters.product_line, all_label="All product lines")  # fmt: skip
        workflow = _choice("Workflow", "workflow", dims["workflow"], filters.workflow,
                           all_label="All workflows")  # fmt: skip
        filters = Filters(filters.range_key, filters.start, filters.end, tenant, product_line,
                          workflow, filters.notes)  # fmt: skip
        st.divider()
        if not open_access:
            scope_text = ", ".join(user.tenants) if user.restricted else "all tenants"
            st.caption(f":material/person: {user.name} · {user.role} · {scope_text}")
            st.button("Sign out", on_click=sign_out, key="_sign_out")
    _write_url(filters)
    for note in filters.notes:
        st.warning(md_literal(note))
    tenants = tenant_scope(user, filters.tenant)
    ctx = Context(user=user, filters=filters, tenants=tenants, open_access=open_access)
    st.session_state[_CONTEXT_KEY] = ctx
    return ctx


def _write_url(filters: Filters) -> None:
    """Make the URL carry the filters (view-specific parameters are left alone)."""
    wanted = filters.to_params()
    for key in ("range", "from", "to", "tenant", "product_line", "workflow"):
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]


def context() -> Context:
    """The run's context set by the frame (views call this first)."""
    ctx = st.session_state.get(_CONTEXT_KEY)
    if not isinstance(ctx, Context):
        raise RuntimeError("views run inside app/main.py, which sets the context first")
    return ctx


def header(title: str, ctx: Context, *, applies: str = "") -> None:
    """The view title and one caption: period, filters and when the data was last updated."""
    st.title(title)
    freshness = data.freshness(ctx.tenants)
    latest = freshness.latest
    updated = f"newest record {latest:%Y-%m-%d %H:%M} UTC" if latest else "no data yet"
    line = f"{ctx.filters.describe(md_code)} · {updated} · read {freshness.read_at:%H:%M:%S} UTC"
    if applies:
        line += f" · {applies}"
    st.caption(line)
    if ctx.open_access:
        st.caption(
            ":material/lock_open: Open access: no users are configured, so this dashboard "
            "serves 127.0.0.1 only (set FLOWMETER_USERS_FILE to require sign-in)."
        )


def empty_state(what: str = "data") -> None:
    """Explain how to fill an empty store, instead of drawing empty charts."""
    st.info(
        f"No {what} for this period and these filters yet.\n\n"
        "**Send data**: point any OpenTelemetry SDK at the OTLP receivers "
        "(`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`), send KPI events as log events "
        "named `kpi.<name>` (see docs/telemetry.md), and import cost files with "
        "`flowmeter import costs FILE`.\n\n"
        "**Or run the demo**: `flowmeter up --demo` (or `flowmeter demo --days 14`) fills two "
        "weeks of order, invoice, refund and lead flows.",
        icon=":material/inbox:",
    )

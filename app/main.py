"""The dashboard's frame: page config, sign-in, shared sidebar and navigation. Views live in views/."""

from __future__ import annotations

import streamlit as st

from app import frame
from app.access import visible_views
from app.formatting import md_literal
from models.errors import QueryLimitError

st.set_page_config(page_title="Flowmeter", page_icon=":material/monitoring:", layout="wide")

PAGES = {
    "roi": st.Page("views/roi.py", title="Executive ROI", icon=":material/savings:",
                   url_path="roi", default=True),
    "health": st.Page("views/health.py", title="System Health", icon=":material/monitor_heart:",
                      url_path="health"),
    "traces": st.Page("views/traces.py", title="Trace Explorer", icon=":material/search:",
                      url_path="traces"),
    "costs": st.Page("views/costs.py", title="Cost Attribution", icon=":material/payments:",
                     url_path="costs"),
    "operations": st.Page("views/operations.py", title="Operations", icon=":material/build:",
                          url_path="operations"),
    "baselines": st.Page("views/baselines.py", title="Baselines", icon=":material/tune:",
                         url_path="baselines"),
    "alerts": st.Page("views/alerts.py", title="Alerts", icon=":material/notifications:",
                      url_path="alerts"),
}  # fmt: skip

user, open_access = frame.sign_in()
navigation = st.navigation([PAGES[name] for name in visible_views(user)])
try:
    frame.sidebar(user, open_access=open_access)
    navigation.run()
except QueryLimitError as exc:  # a URL asked for more than the dashboard's limits allow
    st.error(md_literal(exc))

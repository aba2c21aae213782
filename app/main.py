"""The dashboard's frame: page config, shared sidebar and navigation. Views live in views/."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Flowmeter", page_icon=":material/monitoring:", layout="wide")

pages = [
    st.Page("views/home.py", title="Overview", icon=":material/home:", default=True),
]
st.navigation(pages).run()

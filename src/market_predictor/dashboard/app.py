"""The dashboard's entry script (`streamlit run` it, or `mpp dashboard`): page setup,
the sidebar and the three pages. Every number on every page comes from the API."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from market_predictor.dashboard.client import DashboardSettings

PAGES = Path(__file__).parent / "pages"

st.set_page_config(
    page_title="Market Price Predictor",
    page_icon="📈",  # an emoji favicon is drawn locally; a :material: one is fetched
    layout="wide",
    initial_sidebar_state="expanded",
)

page = st.navigation(
    [
        st.Page(
            PAGES / "overview.py", title="Overview", icon=":material/table_chart:", default=True
        ),
        st.Page(PAGES / "symbol.py", title="Symbol", icon=":material/candlestick_chart:"),
        st.Page(PAGES / "model.py", title="Model", icon=":material/model_training:"),
    ]
)

with st.sidebar:
    settings = DashboardSettings()
    st.caption(f"API: {settings.api_url}" + (" (token set)" if settings.token else ""))
    if st.button("Refresh data", help="Forget cached answers and ask the API again"):
        st.cache_data.clear()

page.run()

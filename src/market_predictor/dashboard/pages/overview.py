"""Overview: every symbol's next-day forecast, how far to trust it, and whether it is
fresh; then every horizon's interval as a fan and each horizon's skill."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from market_predictor.dashboard import charts
from market_predictor.dashboard.frames import overview_headers, overview_table
from market_predictor.dashboard.horizons import fan_chart, fan_frame, outlook_table, relative
from market_predictor.dashboard.ui import load

health = load("the API's status", "/health")
overview = load("the overview", "/overview")
table = overview_table(overview)
headers = overview_headers(overview)

st.title("Next-day forecasts")
champion = health.get("champion_version")
st.caption(
    f"As of **{health.get('as_of') or '–'}** · champion **{overview['model_name']}"
    f" v{champion or '–'}** · MASE below 1 beats the persistence forecast (tomorrow = today);"
    " coverage is the share of closes inside the 80% interval (target 80%)."
)

if table.empty:
    st.info(
        "**No forecasts yet.** Run the pipeline (`mpp daily`, or `mpp demo` for the sample "
        "data) and reload.",
        icon=":material/info:",
    )
    st.stop()

stale = table.loc[table["Status"] == "stale", "Symbol"].tolist()
flagged = table.loc[table["Retrain"].astype(bool), "Symbol"].tolist()
columns = st.columns(4)
columns[0].metric("Symbols", len(table))
columns[1].metric("Predicted up", int((table["Change %"] > 0).sum()))
columns[2].metric("Stale", len(stale), help="Last forecast older than the last stored close")
columns[3].metric("Retrain flagged", len(flagged))
if stale:
    st.warning(
        f"Stale forecasts for {', '.join(stale)}: their newest forecast is older than the "
        "newest close. Did the daily job skip them?",
        icon=":material/schedule:",
    )

st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "Last close": st.column_config.NumberColumn(format="%.2f"),
        "Predicted close": st.column_config.NumberColumn(format="%.2f"),
        "Change %": st.column_config.NumberColumn(format="%+.2f%%"),
        "80% low": st.column_config.NumberColumn(format="%.2f"),
        "80% high": st.column_config.NumberColumn(format="%.2f"),
        headers["mase"]: st.column_config.NumberColumn(
            format="%.3f",
            help="Rolling MAE over the persistence forecast's MAE, over the newest realised "
            "errors (the window in the header)",
        ),
        headers["coverage"]: st.column_config.ProgressColumn(
            format="percent", min_value=0.0, max_value=1.0
        ),
        "Retrain": st.column_config.CheckboxColumn(help="Monitoring recommends retraining"),
    },
)

st.plotly_chart(charts.outlook_chart(pd.DataFrame(overview["symbols"])), width="stretch")

st.markdown("#### Every horizon")
# In percent of each symbol's last close, so every symbol's fan shares one axis.
fans = {row["symbol"]: relative(fan_frame(row.get("horizons", []))) for row in overview["symbols"]}
st.plotly_chart(fan_chart(fans, percent=True), width="stretch", key="fan")
st.dataframe(
    outlook_table(overview),
    hide_index=True,
    width="stretch",
    column_config={
        "Predicted close": st.column_config.NumberColumn(format="%.2f"),
        "80% low": st.column_config.NumberColumn(format="%.2f"),
        "80% high": st.column_config.NumberColumn(format="%.2f"),
        "MASE": st.column_config.NumberColumn(
            format="%.3f",
            help="Rolling MAE of this horizon's forecasts over persistence's (the close h "
            "trading days later = the as-of close); below 1 beats persistence",
        ),
        "Coverage": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
    },
)
st.caption(
    "Each horizon's MASE and coverage come from monitoring's newest day for that horizon; "
    "they stay empty until forecasts of that horizon have reached their target dates."
)

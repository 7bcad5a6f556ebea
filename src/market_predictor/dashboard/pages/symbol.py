"""Symbol: one symbol's closes with the forecasts and their interval over any date range,
the next trading day's forecast, every horizon's interval as a fan, and how the model did
against persistence at each horizon."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from market_predictor.dashboard import charts
from market_predictor.dashboard.frames import daily_skill, default_range, month_range, symbol_rows
from market_predictor.dashboard.horizons import fan_chart, fan_frame, horizon_skill
from market_predictor.dashboard.ui import load, load_optional, number, percent

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

listing = load("the symbols", "/symbols")["symbols"]
if not listing:
    st.info(
        "**No symbols yet.** Run the pipeline (`mpp daily` or `mpp demo`).", icon=":material/info:"
    )
    st.stop()
last_dates = {
    row["symbol"]: dt.date.fromisoformat(row["latest_price_date"] or row["latest_as_of"])
    for row in listing
}

picker, dates, shortcut = st.columns([1, 2, 2], vertical_alignment="bottom")
symbol = picker.selectbox("Symbol", list(last_dates), key="symbol")
last = last_dates[symbol]
if "range" not in st.session_state:
    st.session_state["range"] = default_range(last)
chosen = dates.date_input(
    "Date range",
    key="range",
    format="YYYY-MM-DD",
    help="Any range; the default is the last 6 months.",
)


def _jump_to_month() -> None:
    """The original dashboard's symbol/year/month picker, as a shortcut for the range."""
    month = MONTHS.index(st.session_state["pick_month"]) + 1
    st.session_state["range"] = month_range(int(st.session_state["pick_year"]), month)


with shortcut.popover("Jump to a month", width="stretch"):
    st.selectbox("Year", list(range(last.year, last.year - 30, -1)), key="pick_year")
    st.selectbox("Month", MONTHS, index=last.month - 1, key="pick_month")
    st.button("Show month", key="jump", on_click=_jump_to_month)

if not isinstance(chosen, tuple) or len(chosen) != 2:
    st.info("Pick the end of the range.", icon=":material/calendar_month:")
    st.stop()
start, end = chosen
window = {"start": start.isoformat(), "end": end.isoformat()}

prices = load(f"{symbol} prices", f"/prices/{symbol}", window)
predictions = load(f"{symbol} predictions", f"/predictions/{symbol}", window)
metrics = load(f"{symbol} metrics", f"/metrics/{symbol}", window)
latest = load_optional(f"{symbol}'s latest forecast", f"/predictions/{symbol}/latest")
rows = symbol_rows(prices, predictions, metrics)
if rows.empty:
    st.info(
        f"**No data for {symbol} between {start} and {end}.** Try a wider range.",
        icon=":material/info:",
    )
    st.stop()

forecast = latest["forecast"] if latest else None
# Highlight the next trading day's forecast when the range reaches the day it was made.
next_forecast = (
    forecast
    if forecast is not None and dt.date.fromisoformat(forecast["as_of_date"]) <= end
    else None
)

summary = metrics["summary"]
tiles = st.columns([1.3, 1.5, 1.2, 1, 1, 1])
if forecast is not None:
    change = (
        (forecast["predicted_close"] / forecast["last_close"] - 1) * 100
        if forecast.get("predicted_close") and forecast.get("last_close")
        else None
    )
    tiles[0].metric(
        f"Forecast for {forecast['target_date']}",
        number(forecast.get("predicted_close")),
        delta=None if change is None else f"{change:+.2f}%",
    )
    tiles[1].metric(
        "80% interval", f"{number(forecast.get('lower'))}–{number(forecast.get('upper'))}"
    )
else:
    tiles[0].metric("Forecast", "–")
    tiles[1].metric("80% interval", "–")
tiles[2].metric(
    "MAE (range)",
    number(summary.get("mae"), 3),
    delta=(
        None
        if summary.get("mae") is None or summary.get("persistence_mae") is None
        else f"{summary['mae'] - summary['persistence_mae']:+.3f} vs persistence"
    ),
    delta_color="inverse",
    help=f"Mean absolute error over {summary.get('n', 0)} realised forecasts in the range",
)
tiles[3].metric(
    "MASE (range)",
    number(summary.get("mase"), 3),
    help="Below 1: more accurate than the persistence forecast (tomorrow = today)",
)
tiles[4].metric("Coverage (range)", percent(summary.get("coverage")), help="Target: 80%")
tiles[5].metric("Direction right", percent(summary.get("directional_accuracy")))
if summary.get("retrain_recommended"):
    st.warning(
        f"Monitoring recommends retraining: {summary.get('reason')}", icon=":material/autorenew:"
    )

st.plotly_chart(charts.forecast_chart(rows, symbol, next_forecast), width="stretch")

horizons = latest["horizons"] if latest else []
# The page's metrics are the next-day ones; every other horizon is measured on its own.
skill_by_horizon = {1: metrics} | {
    point["horizon"]: load(
        f"{symbol} {point['horizon']}-day metrics",
        f"/metrics/{symbol}",
        {**window, "horizon": point["horizon"]},
    )
    for point in horizons
    if point["horizon"] != 1
}
if horizons:
    fan_column, skill_column = st.columns([3, 2])
    fan_column.plotly_chart(fan_chart({symbol: fan_frame(horizons)}), width="stretch", key="fan")
    skill_column.dataframe(
        horizon_skill(horizons, skill_by_horizon),
        hide_index=True,
        width="stretch",
        column_config={
            "Predicted close": st.column_config.NumberColumn(format="%.2f"),
            "80% low": st.column_config.NumberColumn(format="%.2f"),
            "80% high": st.column_config.NumberColumn(format="%.2f"),
            "MAE": st.column_config.NumberColumn(format="%.3f"),
            "Persistence MAE": st.column_config.NumberColumn(format="%.3f"),
            "MASE": st.column_config.NumberColumn(format="%.3f"),
            "Coverage": st.column_config.NumberColumn(format="percent"),
        },
    )
    skill_column.caption(
        "Skill over each horizon's forecasts whose target date is in the range: MASE below 1 "
        "beats persistence at that horizon (the close h trading days later = the as-of "
        "close); coverage is the share of closes inside the 80% interval."
    )
left, right = st.columns(2)
left.plotly_chart(charts.error_chart(rows), width="stretch")
right.plotly_chart(charts.skill_chart(daily_skill(metrics)), width="stretch")

shown = rows.assign(date=rows["date"].dt.date, as_of_date=rows["as_of_date"].dt.date)
with st.expander(f"The {len(shown)} rows shown"):
    st.dataframe(shown, hide_index=True, width="stretch")
st.download_button(
    "Download these rows (CSV)",
    shown.to_csv(index=False).encode(),
    file_name=f"{symbol}_{start}_{end}.csv",
    mime="text/csv",
)

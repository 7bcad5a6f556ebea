"""Forecast horizons on the dashboard: the fan of intervals from the last close out to
each horizon's target date, and each horizon's skill against persistence. Tables and
figures only (no Streamlit), built from the API's `horizons` lists and metrics bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from market_predictor.dashboard.charts import ACTUAL, layout

FAN_TITLE = "Forecast fan"
FAN_COLUMNS = ["horizon", "date", "predicted_close", "lower", "upper"]


def fan_frame(horizons: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A symbol's fan: the last close at the as-of date (horizon 0, no spread), then each
    horizon's target date with its median and interval, by horizon."""
    points = [p for p in horizons if p.get("predicted_close") is not None]
    if not points:
        return pd.DataFrame(columns=FAN_COLUMNS)
    first = min(points, key=lambda p: p["horizon"])
    last = first["last_close"]
    rows = [{"horizon": 0, "date": first["as_of_date"], **dict.fromkeys(FAN_COLUMNS[2:], last)}]
    rows += [
        {"horizon": p["horizon"], "date": p["target_date"], **{c: p[c] for c in FAN_COLUMNS[2:]}}
        for p in sorted(points, key=lambda p: p["horizon"])
    ]
    fan = pd.DataFrame(rows, columns=FAN_COLUMNS)
    fan["date"] = pd.to_datetime(fan["date"])
    return fan


def relative(fan: pd.DataFrame) -> pd.DataFrame:
    """The fan in percent of its last close, so symbols of any price share one axis."""
    if fan.empty:
        return fan
    last = fan["predicted_close"].iloc[0]
    values = {c: (fan[c] / last - 1.0) * 100.0 for c in FAN_COLUMNS[2:]}
    return fan.assign(**values)


def fan_chart(fans: Mapping[str, pd.DataFrame], *, percent: bool = False) -> go.Figure:
    """One band (lower..upper) and median line per symbol from its as-of close through
    every horizon's target date; each horizon's point is labelled with its horizon."""
    figure = go.Figure()
    palette = qualitative.Plotly
    for index, (symbol, fan) in enumerate(fans.items()):
        if fan.empty:
            continue
        color = palette[index % len(palette)]
        band = go.Scatter(
            x=pd.concat([fan["date"], fan["date"][::-1]]),
            y=pd.concat([fan["upper"], fan["lower"][::-1]]),
            fill="toself",
            fillcolor=_translucent(color),
            line={"width": 0},
            hoverinfo="skip",
            legendgroup=symbol,
            showlegend=False,
            name=f"{symbol} 80% interval",
        )
        median = go.Scatter(
            x=fan["date"],
            # Plain numbers, not a typed array: the figure's JSON stays readable (a few points).
            y=fan["predicted_close"].tolist(),
            mode="lines+markers+text",
            line={"color": color, "width": 2},
            marker={"size": 7},
            # Label the horizons, not the as-of close the fan starts from.
            text=[""] + [f"{h}d" for h in fan["horizon"].iloc[1:]],
            textposition="top center",
            customdata=list(zip(fan["lower"], fan["upper"], strict=True)),
            hovertemplate=(
                f"{symbol} %{{x|%Y-%m-%d}}: %{{y:,.2f}}"
                " (80%: %{customdata[0]:,.2f} to %{customdata[1]:,.2f})<extra></extra>"
            ),
            legendgroup=symbol,
            name=f"{symbol} median",
        )
        figure.add_traces([band, median])
        figure.add_trace(
            go.Scatter(
                x=fan["date"].iloc[:1],
                y=fan["predicted_close"].iloc[:1],
                mode="markers",
                marker={"color": ACTUAL, "size": 10, "symbol": "diamond"},
                legendgroup=symbol,
                showlegend=False,
                hovertemplate=f"{symbol} last close %{{y:,.2f}}<extra></extra>",
                name=f"{symbol} last close",
            )
        )
    figure.update_xaxes(title_text="Target date")
    figure.update_yaxes(
        title_text="Change vs last close (%)" if percent else "Price",
        tickformat="+.1f" if percent else ",.2f",
    )
    figure = layout(figure, f"{FAN_TITLE}: 80% intervals by horizon", 380)
    figure.update_layout(hovermode="closest")
    return figure


def _translucent(color: str, alpha: float = 0.18) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


OUTLOOK_COLUMNS = {
    "symbol": "Symbol",
    "horizon": "Horizon (days)",
    "target_date": "Forecast for",
    "predicted_close": "Predicted close",
    "lower": "80% low",
    "upper": "80% high",
    "mase": "MASE",
    "coverage": "Coverage",
}


def outlook_table(overview: Mapping[str, Any]) -> pd.DataFrame:
    """/overview -> one row per symbol and horizon: the newest forecast and the
    horizon's rolling MASE (below 1 beats persistence) and interval coverage."""
    rows = [
        {"symbol": row["symbol"], **point}
        for row in overview.get("symbols", [])
        for point in row.get("horizons", [])
    ]
    if not rows:
        return pd.DataFrame(columns=list(OUTLOOK_COLUMNS.values()))
    table = pd.DataFrame(rows)
    table["target_date"] = pd.to_datetime(table["target_date"]).dt.date
    return table[list(OUTLOOK_COLUMNS)].rename(columns=OUTLOOK_COLUMNS)


SKILL_COLUMNS = {
    "horizon": "Horizon (days)",
    "target_date": "Forecast for",
    "predicted_close": "Predicted close",
    "lower": "80% low",
    "upper": "80% high",
    "n": "Realised",
    "mae": "MAE",
    "persistence_mae": "Persistence MAE",
    "mase": "MASE",
    "coverage": "Coverage",
}


def horizon_skill(
    horizons: Sequence[Mapping[str, Any]], metrics: Mapping[int, Mapping[str, Any]]
) -> pd.DataFrame:
    """One row per horizon: the newest forecast beside the skill of that horizon's
    realised forecasts in the range (`metrics`: /metrics?horizon=h bodies by h)."""
    skill = list(SKILL_COLUMNS)[5:]
    rows = [
        {**point, **{k: metrics.get(point["horizon"], {}).get("summary", {}).get(k) for k in skill}}
        for point in sorted(horizons, key=lambda p: p["horizon"])
    ]
    if not rows:
        return pd.DataFrame(columns=list(SKILL_COLUMNS.values()))
    table = pd.DataFrame(rows)
    table["target_date"] = pd.to_datetime(table["target_date"]).dt.date
    return table[list(SKILL_COLUMNS)].rename(columns=SKILL_COLUMNS)

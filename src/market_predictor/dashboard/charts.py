"""Plotly figures of the dashboard, built from the tables in `frames` (no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

ACTUAL = "#1f2937"
MODEL = "#2563eb"
BAND = "rgba(37, 99, 235, 0.15)"
PERSISTENCE = "#9ca3af"
NEXT = "#f59e0b"
UP, DOWN = "#16a34a", "#dc2626"


def layout(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        template="plotly_white",
    )
    return figure


def forecast_chart(rows: pd.DataFrame, symbol: str, latest: Mapping[str, Any] | None) -> go.Figure:
    """Actual closes, the forecasts made for each day with their 80% band, and the next
    trading day's forecast (`latest`, the API's newest forecast) highlighted."""
    figure = go.Figure()
    forecast = rows.dropna(subset=["predicted_close"])
    if not forecast.empty:
        figure.add_trace(
            go.Scatter(
                x=pd.concat([forecast["date"], forecast["date"][::-1]]),
                y=pd.concat([forecast["upper"], forecast["lower"][::-1]]),
                fill="toself",
                fillcolor=BAND,
                line={"width": 0},
                hoverinfo="skip",
                name="80% interval",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=forecast["date"],
                y=forecast["predicted_close"],
                mode="lines",
                line={"color": MODEL, "dash": "dot", "width": 1.5},
                name="Predicted close",
            )
        )
    actual = rows.dropna(subset=["actual_close"])
    figure.add_trace(
        go.Scatter(
            x=actual["date"],
            y=actual["actual_close"],
            mode="lines",
            line={"color": ACTUAL, "width": 2},
            name=f"{symbol} close",
        )
    )
    if latest is not None and latest.get("predicted_close") is not None:
        target = pd.Timestamp(latest["target_date"])
        low, high = latest.get("lower"), latest.get("upper")
        error = None
        if low is not None and high is not None:
            error = {
                "type": "data",
                "symmetric": False,
                "array": [high - latest["predicted_close"]],
                "arrayminus": [latest["predicted_close"] - low],
                "color": NEXT,
                "thickness": 2,
                "width": 8,
            }
        figure.add_trace(
            go.Scatter(
                x=[target],
                y=[latest["predicted_close"]],
                error_y=error,
                mode="markers",
                marker={"color": NEXT, "size": 14, "symbol": "star", "line": {"width": 1}},
                name=f"Next: {target.date()}",
            )
        )
        figure.add_annotation(
            x=target,
            y=latest["predicted_close"],
            text=f"{latest['predicted_close']:.2f}",
            showarrow=True,
            arrowhead=0,
            ax=-40,
            ay=-30,
            font={"color": NEXT},
        )
    figure.update_yaxes(title_text="Price", tickformat=",.2f")
    return layout(figure, f"{symbol}: actual close and day-ahead forecasts", 440)


def error_chart(rows: pd.DataFrame) -> go.Figure:
    """Absolute error of the model beside the persistence forecast's, per target day."""
    realised = rows.dropna(subset=["abs_error"])
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=realised["date"],
            y=realised["persistence_abs_error"],
            name="Persistence (tomorrow = today)",
            marker_color=PERSISTENCE,
        )
    )
    figure.add_trace(
        go.Bar(x=realised["date"], y=realised["abs_error"], name="Model", marker_color=MODEL)
    )
    figure.update_layout(barmode="group", bargap=0.25)
    figure.update_yaxes(title_text="Absolute error", tickformat=",.2f")
    return layout(figure, "Absolute error: model vs persistence", 300)


def skill_chart(daily: pd.DataFrame, nominal_coverage: float = 0.8) -> go.Figure:
    """Rolling MASE (below 1 beats persistence) and interval coverage over time, titled
    with the window monitoring measured them over (the rows' own, never restated here)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    if not daily.empty:
        figure.add_trace(
            go.Scatter(
                x=daily["date"], y=daily["mase"], name="MASE", line={"color": MODEL, "width": 2}
            ),
            secondary_y=False,
        )
        figure.add_trace(
            go.Scatter(
                x=daily["date"],
                y=daily["coverage"],
                name="Coverage",
                line={"color": NEXT, "width": 2},
            ),
            secondary_y=True,
        )
    figure.add_hline(y=1.0, line={"color": MODEL, "dash": "dash", "width": 1}, secondary_y=False)
    figure.add_hline(
        y=nominal_coverage, line={"color": NEXT, "dash": "dash", "width": 1}, secondary_y=True
    )
    figure.update_yaxes(title_text="MASE (1 = persistence)", secondary_y=False)
    figure.update_yaxes(
        title_text="Coverage",
        tickformat=".0%",
        range=[0, 1.05],
        tickmode="array",
        tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0],
        showgrid=False,
        secondary_y=True,
    )
    windows = set(daily["window"].dropna().astype(int)) if "window" in daily else set()
    over = f" ({windows.pop()} trading days)" if len(windows) == 1 else ""
    return layout(figure, f"Rolling skill{over}", 300)


def outlook_chart(table: pd.DataFrame) -> go.Figure:
    """Every symbol's predicted change for its next trading day with the 80% interval,
    in percent of the last close: the overview at a glance."""
    rows = table.dropna(subset=["predicted_close", "last_close"]).sort_values("change_pct")
    low = (rows["lower"] / rows["last_close"] - 1) * 100
    high = (rows["upper"] / rows["last_close"] - 1) * 100
    figure = go.Figure(
        go.Scatter(
            x=rows["change_pct"],
            y=rows["symbol"],
            mode="markers",
            marker={
                "size": 12,
                "color": [UP if c >= 0 else DOWN for c in rows["change_pct"]],
            },
            error_x={
                "type": "data",
                "symmetric": False,
                "array": high - rows["change_pct"],
                "arrayminus": rows["change_pct"] - low,
                "color": PERSISTENCE,
                "thickness": 2,
            },
            customdata=list(
                zip(rows["predicted_close"], rows["lower"], rows["upper"], strict=True)
            ),
            hovertemplate=(
                "%{y}: %{x:+.2f}%<br>predicted %{customdata[0]:.2f} "
                "(80%: %{customdata[1]:.2f} to %{customdata[2]:.2f})<extra></extra>"
            ),
            name="Predicted change",
        )
    )
    figure.add_vline(x=0, line={"color": ACTUAL, "width": 1})
    figure.update_xaxes(title_text="Predicted change vs last close (%), with 80% interval")
    figure = layout(figure, "Next trading day", 120 + 40 * len(rows))
    figure.update_layout(hovermode="closest", showlegend=False)
    return figure

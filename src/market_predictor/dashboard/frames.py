"""The API's JSON bodies as the tables the pages show: pure functions, no Streamlit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

# The overview table's columns, in order, with the headers a trader reads.
OVERVIEW_COLUMNS = {
    "symbol": "Symbol",
    "status": "Status",
    "last_price_date": "Last close on",
    "last_close": "Last close",
    "target_date": "Forecast for",
    "predicted_close": "Predicted close",
    "change_pct": "Change %",
    "lower": "80% low",
    "upper": "80% high",
    "mase": "MASE",
    "coverage": "Coverage",
    "retrain_recommended": "Retrain",
    "reason": "Reason",
}


def frame(rows: Sequence[Mapping[str, Any]], dates: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of JSON objects -> a DataFrame with `dates` parsed as datetimes."""
    table = pd.DataFrame(list(rows))
    for column in dates:
        if column in table.columns:
            table[column] = pd.to_datetime(table[column])
    return table


def overview_headers(body: Mapping[str, Any]) -> dict[str, str]:
    """OVERVIEW_COLUMNS with the rolling window the API measured skill over, e.g.
    "MASE (60d)": the window is monitoring's, never restated here."""
    windows = {row.get("window") for row in body.get("symbols", [])} - {None}
    suffix = f" ({windows.pop()}d)" if len(windows) == 1 else ""
    return {
        key: f"{label}{suffix}" if key in ("mase", "coverage") else label
        for key, label in OVERVIEW_COLUMNS.items()
    }


def overview_table(body: Mapping[str, Any]) -> pd.DataFrame:
    """/overview -> one row per symbol with the `overview_headers`."""
    headers = overview_headers(body)
    table = frame(body.get("symbols", []), dates=("last_price_date", "target_date"))
    if table.empty:
        return pd.DataFrame(columns=list(headers.values()))
    table["status"] = table["stale"].map({True: "stale", False: "fresh"})
    for column in ("last_price_date", "target_date"):
        table[column] = table[column].dt.date
    return table[list(headers)].rename(columns=headers)


def symbol_rows(
    prices: Mapping[str, Any], predictions: Mapping[str, Any], metrics: Mapping[str, Any]
) -> pd.DataFrame:
    """One row per day of the range: the actual close beside the forecast made for that
    day (its interval, error and the persistence forecast's error). This is what the
    charts draw and what the CSV download holds."""
    closes = frame(prices.get("prices", []), dates=("date",))
    closes = (
        closes[["date", "close"]] if not closes.empty else pd.DataFrame(columns=["date", "close"])
    )
    forecasts = frame(predictions.get("predictions", []), dates=("target_date", "as_of_date"))
    keep = ["target_date", "as_of_date", "model_version", "predicted_close", "lower", "upper"]
    forecasts = (
        forecasts[keep].rename(columns={"target_date": "date"})
        if not forecasts.empty
        else pd.DataFrame(columns=["date", *keep[1:]])
    )
    errors = frame(metrics.get("errors", []), dates=("target_date",))
    outcome = ["abs_error", "persistence_abs_error", "inside_interval", "direction_correct"]
    errors = (
        errors[["target_date", *outcome]].rename(columns={"target_date": "date"})
        if not errors.empty
        else pd.DataFrame(columns=["date", *outcome])
    )
    table = closes.merge(forecasts, on="date", how="outer").merge(errors, on="date", how="left")
    # Empty parts come without dtypes: make the dates dates and the numbers numbers.
    for column in ("date", "as_of_date"):
        table[column] = pd.to_datetime(table[column])
    for column in ("close", "predicted_close", "lower", "upper", *outcome[:2]):
        table[column] = pd.to_numeric(table[column])
    table = table.sort_values("date", ignore_index=True)
    return table.rename(columns={"close": "actual_close"})


def daily_skill(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """The monitoring summary's rolling rows over time (MASE, coverage, the flag)."""
    return frame(metrics.get("daily", []), dates=("date",))


def retrain_triggers(metrics: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Every monitoring day and horizon that recommended a retrain, with the statistics
    behind it, from the metrics route's bodies (one per symbol and horizon)."""
    parts = []
    for body in metrics:
        daily = daily_skill(body)
        if daily.empty:
            continue
        flagged = daily[daily["retrain_recommended"].astype(bool)].copy()
        flagged["symbol"] = body["symbol"]
        flagged["horizon"] = body.get("horizon", 1)  # the rows' own, when they carry it
        parts.append(flagged)
    columns = [
        "date", "symbol", "horizon", "model_version", "mase", "coverage", "test", "statistic",
        "threshold", "test_window", "reason",
    ]  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    table["date"] = table["date"].dt.date
    return table[[c for c in columns if c in table.columns]].sort_values(
        ["date", "symbol", "horizon"], ascending=[False, True, True], ignore_index=True
    )


def validation_table(validation: Mapping[str, Mapping[str, Any] | None]) -> pd.DataFrame:
    """Champion validation metrics, one row per forecaster (model first, baselines after)."""
    order = ["model", "champion", "persistence", "garch", "drift"]
    names = sorted(validation, key=lambda k: (order.index(k) if k in order else len(order), k))
    rows = [{"forecaster": name, **(validation[name] or {})} for name in names]
    columns = ["forecaster", "pinball", "mae", "mase", "rmse", "mape"]
    columns += ["coverage", "directional_accuracy", "n"]
    table = pd.DataFrame(rows)
    return table[[c for c in columns if c in table.columns]]


# The parts of an interval backtest, as the Model page names them.
_INTERVAL_PARTS = {"lower": "10% tail", "upper": "90% tail", "interval": "interval"}
_TESTS = {"POF": "pof", "Ind": "independence", "CC": "conditional_coverage"}


def interval_test_table(tests: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Each forecaster's interval backtests (the champion card's `interval_tests`): one
    row per forecaster and part (each tail, the whole interval) with its nominal and
    realised miss rates and the p-values of Kupiec's and Christoffersen's tests."""
    order = ["model", "champion", "persistence"]
    names = sorted(tests, key=lambda k: (order.index(k) if k in order else len(order), k))
    rows = []
    for name in names:
        for part, label in _INTERVAL_PARTS.items():
            hits = tests[name][part]
            rows.append(
                {
                    "forecaster": name,
                    "part": label,
                    "nominal": hits["nominal"],
                    "miss rate": hits["hit_rate"],
                    "Kupiec POF p": hits["pof"]["p_value"],
                    "independence p": hits["independence"]["p_value"],
                    "cond. coverage p": hits["conditional_coverage"]["p_value"],
                    "rejected": ", ".join(t for t, key in _TESTS.items() if hits[key]["rejected"]),
                    "interval score": tests[name]["interval_score"] if part == "interval" else None,
                }
            )
    return pd.DataFrame(rows)


def month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last calendar day of a month (the original's year/month picker)."""
    first = dt.date(year, month, 1)
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def default_range(last: dt.date, months: int = 6) -> tuple[dt.date, dt.date]:
    """The last `months` months up to `last`."""
    start = (pd.Timestamp(last) - pd.DateOffset(months=months)).date()
    return start, last

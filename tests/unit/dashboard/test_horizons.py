"""The fan of intervals and the per-horizon skill tables, from API-shaped bodies."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor.dashboard.horizons import (
    fan_chart,
    fan_frame,
    horizon_skill,
    outlook_table,
    relative,
)

AS_OF = "2024-04-11"


def _point(horizon: int, target: str, median: float | None, low: float, high: float) -> dict:  # type: ignore[type-arg]
    return {
        "horizon": horizon, "as_of_date": AS_OF, "target_date": target, "last_close": 100.0,
        "predicted_close": median, "lower": low, "upper": high, "model_version": "1",
    }  # fmt: skip


# Out of order on purpose: the API sorts by horizon, the fan must not rely on it.
POINTS = [
    _point(21, "2024-05-10", 104.0, 90.0, 112.0),
    _point(1, "2024-04-12", 100.2, 99.0, 101.5),
    _point(5, "2024-04-18", 101.0, 96.0, 104.0),
]


def test_the_fan_starts_at_the_last_close_on_the_as_of_date_then_widens_by_horizon() -> None:
    fan = fan_frame(POINTS)
    assert list(fan["horizon"]) == [0, 1, 5, 21]
    assert list(fan["date"].dt.date) == [
        dt.date(2024, 4, 11), dt.date(2024, 4, 12), dt.date(2024, 4, 18), dt.date(2024, 5, 10),
    ]  # fmt: skip
    assert fan.iloc[0][["predicted_close", "lower", "upper"]].tolist() == [100.0] * 3
    assert list(fan["lower"]) == [100.0, 99.0, 96.0, 90.0]
    assert list(fan["upper"]) == [100.0, 101.5, 104.0, 112.0]


def test_a_horizon_without_a_median_is_left_out_and_no_points_is_an_empty_fan() -> None:
    fan = fan_frame([*POINTS[1:], _point(21, "2024-05-10", None, 90.0, 112.0)])
    assert list(fan["horizon"]) == [0, 1, 5]
    empty = fan_frame([])
    assert empty.empty
    assert list(empty.columns) == ["horizon", "date", "predicted_close", "lower", "upper"]


def test_relative_fan_is_percent_of_the_last_close() -> None:
    fan = relative(fan_frame(POINTS))
    assert fan["predicted_close"].tolist() == pytest.approx([0.0, 0.2, 1.0, 4.0])
    assert fan["lower"].tolist() == pytest.approx([0.0, -1.0, -4.0, -10.0])


def test_the_fan_chart_draws_a_band_a_labelled_median_and_the_last_close_per_symbol() -> None:
    figure = fan_chart(
        {"AAA": fan_frame(POINTS), "BBB": fan_frame(POINTS[1:2]), "CCC": fan_frame([])}
    )
    names = [trace.name for trace in figure.data]
    assert names == [
        "AAA 80% interval", "AAA median", "AAA last close",
        "BBB 80% interval", "BBB median", "BBB last close",
    ]  # fmt: skip
    band, median = figure.data[0], figure.data[1]
    # The band runs out along the upper bounds and back along the lower ones.
    assert list(band.y) == [100.0, 101.5, 104.0, 112.0, 90.0, 96.0, 99.0, 100.0]
    assert band.fill == "toself"
    assert list(median.text) == ["", "1d", "5d", "21d"]
    assert list(figure.data[4].text) == ["", "1d"]
    assert figure.layout.title.text.startswith("Forecast fan")


def test_outlook_table_has_a_row_per_symbol_and_horizon_with_its_skill() -> None:
    overview = {
        "symbols": [
            {
                "symbol": "AAA",
                "horizons": [
                    {**p, "mase": 0.9 + p["horizon"] / 100, "coverage": 0.8} for p in POINTS
                ],
            },
            {"symbol": "CCC", "horizons": [{**POINTS[1], "mase": None, "coverage": None}]},
        ]
    }
    table = outlook_table(overview)
    assert list(zip(table["Symbol"], table["Horizon (days)"], strict=True)) == [
        ("AAA", 21), ("AAA", 1), ("AAA", 5), ("CCC", 1),
    ]  # fmt: skip
    assert table["MASE"].tolist()[:3] == pytest.approx([1.11, 0.91, 0.95])
    assert pd.isna(table["MASE"].iloc[3])
    assert outlook_table({"symbols": []}).empty


def test_horizon_skill_puts_each_horizons_range_skill_beside_its_forecast() -> None:
    def skill(n: int, mae: float, persistence: float, mase: float, coverage: float) -> dict:  # type: ignore[type-arg]
        values = (n, mae, persistence, mase, coverage)
        names = ("n", "mae", "persistence_mae", "mase", "coverage")
        return {"summary": dict(zip(names, values, strict=True))}

    metrics = {1: skill(20, 1.0, 1.1, 0.91, 0.8), 5: skill(16, 2.0, 2.1, 0.95, 0.75)}
    table = horizon_skill(POINTS, metrics)
    assert table["Horizon (days)"].tolist() == [1, 5, 21]
    assert table["MASE"].tolist()[:2] == [0.91, 0.95]
    assert table["Persistence MAE"].tolist()[:2] == [1.1, 2.1]
    # No metrics for 21 days (none realised yet): its skill is unknown, not zero.
    assert table.iloc[2][["Realised", "MASE", "Coverage"]].isna().all()
    assert table["Forecast for"].tolist()[2] == dt.date(2024, 5, 10)

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from market_predictor.evaluation import forecast_metrics, metrics_table, pinball_loss


def test_pinball_loss_matches_a_hand_computed_value() -> None:
    actual = np.array([1.0, -1.0])
    predictions = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    # Row 1: diff +1 -> 0.1, 0.5, 0.9. Row 2: diff -1 -> 0.9, 0.5, 0.1. Mean = 0.5.
    assert pinball_loss(actual, predictions, (0.1, 0.5, 0.9)) == pytest.approx(0.5)


def test_pinball_loss_is_zero_for_exact_forecasts() -> None:
    actual = np.array([0.01, -0.02, 0.0])
    exact = np.repeat(actual[:, None], 3, axis=1)
    assert pinball_loss(actual, exact, (0.1, 0.5, 0.9)) == 0.0


def _rows(last: list[float], actual: list[float], predicted: list[float]) -> pd.DataFrame:
    last_a = np.asarray(last)
    return pd.DataFrame(
        {
            "symbol": ["A"] * len(last),
            "last_close": last_a,
            "actual_close": actual,
            "predicted_close": predicted,
            "lower": last_a * 0.98,
            "upper": last_a * 1.02,
        }
    )


def test_persistence_forecast_has_mase_one_and_calls_no_direction() -> None:
    rows = _rows([100, 101, 102], [101, 100, 103], [100, 101, 102])
    metrics = forecast_metrics(rows)
    assert metrics["mase"] == pytest.approx(1.0)
    assert np.isnan(metrics["directional_accuracy"])
    assert metrics["mae"] == pytest.approx(1.0)


def test_metrics_report_coverage_direction_and_percentage_error() -> None:
    rows = _rows([100, 100, 100, 100], [101, 99, 105, 100.5], [101, 101, 101, 100.5])
    metrics = forecast_metrics(rows)
    assert metrics["coverage"] == pytest.approx(0.75)  # 105 is outside [98, 102]
    assert metrics["directional_accuracy"] == pytest.approx(3 / 4)
    assert metrics["mase"] == pytest.approx((0 + 2 + 4 + 0) / 4 / ((1 + 1 + 5 + 0.5) / 4))
    assert metrics["mape"] == pytest.approx(np.mean([0, 2 / 99, 4 / 105, 0]) * 100)


def test_metrics_of_no_rows_are_undefined_not_an_error() -> None:
    metrics = forecast_metrics(_rows([], [], []))
    assert metrics["n"] == 0
    assert np.isnan(metrics["mae"])


def test_metrics_table_has_one_row_per_symbol_and_an_overall_row() -> None:
    a = _rows([100, 100], [101, 99], [100, 100])
    b = _rows([50, 50], [52, 50], [51, 50]).assign(symbol="B")
    table = metrics_table(pd.concat([a, b], ignore_index=True))
    assert list(table["symbol"]) == ["A", "B", "ALL"]
    assert table.set_index("symbol").loc["ALL", "n"] == 4

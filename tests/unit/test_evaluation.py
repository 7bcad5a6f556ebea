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


def test_the_overall_row_pools_only_the_rows_it_is_given() -> None:
    a = _rows([100, 100], [101, 99], [100, 100])
    b = _rows([50, 50], [52, 50], [51, 50]).assign(symbol="B")
    table = metrics_table(pd.concat([a, b], ignore_index=True), pooled=b).set_index("symbol")
    assert table.loc["A", "n"] == table.loc["B", "n"] == table.loc["ALL", "n"] == 2
    assert table.loc["ALL", "mae"] == table.loc["B", "mae"]


def _one_forecast(actual: float) -> pd.DataFrame:
    """Last close 100, interval [98, 102], median 101."""
    return pd.DataFrame(
        {
            "symbol": ["A"],
            "last_close": [100.0],
            "actual_close": [actual],
            "predicted_close": [101.0],
            "lower": [98.0],
            "upper": [102.0],
        }
    )


def test_pinball_is_taken_on_log_returns_at_the_intervals_outer_levels_and_the_median() -> None:
    # Outcome: no move. Each quantile's loss is its level's side of (0 - quantile return).
    low, median, high = np.log(0.98), np.log(1.01), np.log(1.02)
    expected = np.mean([0.1 * -low, 0.5 * median, 0.1 * high])
    assert forecast_metrics(_one_forecast(100.0))["pinball"] == pytest.approx(expected)
    wider = np.mean([0.05 * -low, 0.5 * median, 0.05 * high])
    for quantiles in ((0.05, 0.5, 0.95), (0.95, 0.05, 0.5)):
        metrics = forecast_metrics(_one_forecast(100.0), quantiles)
        assert metrics["pinball"] == pytest.approx(wider)


def test_pinball_loss_weighs_a_miss_below_a_quantile_by_one_minus_its_level() -> None:
    # actual 2 under every quantile: loss (1 - level) * 2.
    loss = pinball_loss(np.array([-2.0]), np.array([[0.0, 0.0, 0.0]]), (0.1, 0.5, 0.9))
    assert loss == pytest.approx(2 * (0.9 + 0.5 + 0.1) / 3)


def test_an_actual_on_either_edge_of_the_interval_is_covered() -> None:
    for edge in (98.0, 102.0):
        assert forecast_metrics(_one_forecast(edge))["coverage"] == 1.0
    for outside in (97.99, 102.01):
        assert forecast_metrics(_one_forecast(outside))["coverage"] == 0.0


def test_rmse_weighs_large_errors_more_than_mae() -> None:
    rows = _rows([100, 100], [100, 100], [101, 97])
    metrics = forecast_metrics(rows)
    assert metrics["mae"] == pytest.approx(2.0)
    assert metrics["rmse"] == pytest.approx(np.sqrt((1 + 9) / 2))


def test_mase_is_undefined_when_persistence_made_no_error() -> None:
    rows = _rows([100, 100], [100, 100], [101, 99])
    assert np.isnan(forecast_metrics(rows)["mase"])


def test_direction_counts_only_the_forecasts_that_call_a_move() -> None:
    # One "no change" forecast, one right call, one wrong call.
    rows = _rows([100, 100, 100], [105, 105, 95], [100, 101, 101])
    assert forecast_metrics(rows)["directional_accuracy"] == pytest.approx(0.5)


def test_metrics_table_orders_symbols_and_passes_the_quantiles_to_every_row() -> None:
    b = _rows([50], [50], [51]).assign(symbol="B")
    a = _rows([100], [100], [101])
    rows = pd.concat([b, a], ignore_index=True)
    quantiles = (0.05, 0.5, 0.95)
    table = metrics_table(rows, quantiles=quantiles).set_index("symbol")
    assert list(table.index) == ["A", "B", "ALL"]
    assert table.loc["A", "pinball"] == pytest.approx(forecast_metrics(a, quantiles)["pinball"])
    assert table.loc["ALL", "pinball"] == pytest.approx(
        forecast_metrics(rows, quantiles)["pinball"]
    )
    assert table.loc["ALL", "pinball"] != pytest.approx(forecast_metrics(rows)["pinball"])


def test_the_long_run_variance_adds_the_overlap_of_h_day_errors() -> None:
    from market_predictor.evaluation import long_run_variance

    values = np.array([1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    # Lag 0 only at h=1: the plain (population) variance.
    assert long_run_variance(values, 1) == pytest.approx(1.0)
    # h=2 adds twice the lag-1 autocovariance, Bartlett-weighted by 1/2:
    # lag-1 products sum to 1 - 1 + 1 - 1 + 1 - 1 + 1 = 1 over n = 8.
    assert long_run_variance(values, 2) == pytest.approx(1.0 + 2 * 0.5 * 1 / 8)
    # h=3 also adds the lag-2 term (products sum to -6, weight 1/3), weight of lag 1 2/3.
    assert long_run_variance(values, 3) == pytest.approx(
        1.0 + 2 * (2 / 3) / 8 - 2 * (1 / 3) * 6 / 8
    )


def test_the_long_run_variance_defaults_to_the_plain_variance_about_the_mean() -> None:
    from market_predictor.evaluation import long_run_variance

    # Mean 3, deviations -2, 0, -1, 3: squares sum to 14 over n = 4.
    assert long_run_variance(np.array([1.0, 3.0, 2.0, 6.0])) == 3.5


def test_the_long_run_variance_of_single_precision_values_is_summed_in_double() -> None:
    from market_predictor.evaluation import long_run_variance

    # 4097 ** 2 = 16785409 needs 25 bits: single precision would round it to 16785408.
    values = np.array([4097.0, -4097.0], dtype="float32")
    assert long_run_variance(values) == 16785409.0

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.monitoring import (
    LOOKBACK_WINDOWS,
    _last_rows,
    _recent_errors,
    _tests,
    _verdict,
    rolling_skill,
    scaled_errors,
    skill_by_symbol,
    symbol_tests,
)
from market_predictor.pipeline import replay
from market_predictor.store import FeatureStore
from market_predictor.store.errors import realised_errors
from market_predictor.store.errors import served as served_errors
from market_predictor.triggers import (
    PERFORMANCE_WINDOW,
    REFERENCE_VERSION,
    SCALE_WINDOW,
    horizon_window,
)
from tests.fixtures.ops import monitor_as_of


def _predictions(rows: list[tuple[str, str, float, float, float, float]]) -> pd.DataFrame:
    """(symbol, target_date, last_close, predicted_close, lower, upper)"""
    frame = pd.DataFrame(
        rows, columns=["symbol", "target_date", "last_close", "predicted_close", "lower", "upper"]
    )
    frame["target_date"] = pd.to_datetime(frame["target_date"])
    frame["as_of_date"] = frame["target_date"] - pd.Timedelta(days=1)
    frame["model_name"] = "m"
    frame["model_version"] = "1"
    frame["predicted_return"] = np.log(frame["predicted_close"] / frame["last_close"])
    return frame


def _prices(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["symbol", "date", "close"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _errors(
    abs_errors: list[float],
    persistence: list[float],
    inside: list[bool],
    signs: list[float] | None = None,
) -> pd.DataFrame:
    """Realised errors of a median at 100 inside an interval 99-101; the closes fall
    above and below it in turn (no bias) unless `signs` says otherwise."""
    days = pd.bdate_range("2013-01-01", periods=len(abs_errors))
    signs = signs if signs is not None else [(-1.0) ** i for i in range(len(abs_errors))]
    return pd.DataFrame(
        {
            "symbol": "AAA",
            "target_date": days,
            "model_version": "1",
            "predicted_close": 100.0,
            "lower": 99.0,
            "upper": 101.0,
            "actual_close": 100.0 + np.asarray(signs) * np.asarray(abs_errors),
            "abs_error": abs_errors,
            "persistence_abs_error": persistence,
            "inside_interval": inside,
            "direction_correct": [True] * len(abs_errors),
        }
    )


def test_realised_error_row_measures_model_and_persistence_against_the_actual() -> None:
    predictions = _predictions([("AAA", "2013-01-03", 100.0, 102.0, 98.0, 104.0)])
    errors = realised_errors(predictions, _prices([("AAA", "2013-01-03", 101.0)]))
    row = errors.iloc[0]
    assert row["actual_close"] == 101.0
    assert row["abs_error"] == pytest.approx(1.0)
    assert row["pct_error"] == pytest.approx(100 / 101)
    assert row["persistence_abs_error"] == pytest.approx(1.0)
    assert bool(row["inside_interval"])
    assert bool(row["direction_correct"])


def test_actual_outside_the_interval_and_wrong_direction_are_flagged() -> None:
    predictions = _predictions([("AAA", "2013-01-03", 100.0, 101.0, 99.0, 103.0)])
    row = realised_errors(predictions, _prices([("AAA", "2013-01-03", 95.0)])).iloc[0]
    assert not bool(row["inside_interval"])
    assert not bool(row["direction_correct"])


def test_no_change_forecast_calls_no_direction() -> None:
    predictions = _predictions([("AAA", "2013-01-03", 100.0, 100.0, 98.0, 102.0)])
    row = realised_errors(predictions, _prices([("AAA", "2013-01-03", 101.0)])).iloc[0]
    assert pd.isna(row["direction_correct"])


def test_predictions_without_an_actual_yet_produce_no_error_row() -> None:
    predictions = _predictions(
        [
            ("AAA", "2013-01-03", 100.0, 101.0, 99.0, 103.0),
            ("AAA", "2013-01-04", 101.0, 101.0, 99.0, 103.0),
        ]
    )
    errors = realised_errors(predictions, _prices([("AAA", "2013-01-03", 100.5)]))
    assert list(errors["target_date"]) == [pd.Timestamp("2013-01-03")]


def test_error_rows_keep_each_forecasts_horizon_and_read_none_as_next_day() -> None:
    predictions = _predictions(
        [
            ("AAA", "2013-01-03", 100.0, 101.0, 99.0, 103.0),
            ("AAA", "2013-01-04", 100.0, 101.0, 99.0, 103.0),
        ]
    )
    prices = _prices([("AAA", "2013-01-03", 100.5), ("AAA", "2013-01-04", 100.5)])
    errors = realised_errors(predictions.assign(horizon=[1, 5]), prices)
    assert list(errors["horizon"]) == [1, 5]
    # Predictions stored before multi-horizon forecasts have no horizon: next-day ones.
    assert list(realised_errors(predictions, prices)["horizon"]) == [1, 1]


def test_error_rows_take_the_tables_types_whatever_numeric_types_the_inputs_hold() -> None:
    predictions = pd.DataFrame(
        {
            "symbol": ["AAA"],
            "target_date": [pd.Timestamp("2013-01-03")],
            "as_of_date": [pd.Timestamp("2013-01-02")],
            "horizon": np.array([2], dtype="int32"),
            "model_name": ["m"],
            "model_version": ["1"],
            "last_close": [100],
            "predicted_close": [102],
            "lower": [98],
            "upper": [104],
        }
    )
    errors = realised_errors(
        predictions, _prices([("AAA", "2013-01-03", 101)]).astype({"close": int})
    )
    floats = ["actual_close", "predicted_close", "lower", "upper", "last_close", "abs_error"]
    assert {column: str(errors[column].dtype) for column in floats} == dict.fromkeys(
        floats, "float64"
    )
    assert str(errors["horizon"].dtype) == "int64" and errors["horizon"].iloc[0] == 2
    assert errors["abs_error"].iloc[0] == 1.0 and bool(errors["inside_interval"].iloc[0])


def test_served_errors_keep_every_horizons_forecast_of_the_same_target_day() -> None:
    errors = pd.concat(
        [
            _errors([1.0], [1.0], [True]).assign(horizon=1, model_version="2"),
            _errors([3.0], [1.0], [True]).assign(horizon=5, model_version="1"),
        ]
    )
    served = served_errors(errors)
    assert list(zip(served["horizon"], served["abs_error"], strict=True)) == [(1, 1.0), (5, 3.0)]


def test_served_errors_keep_the_newest_model_version_per_day() -> None:
    errors = pd.concat(
        [_errors([1.0], [1.0], [True]), _errors([5.0], [1.0], [True]).assign(model_version="10")]
    )
    errors = pd.concat([errors, _errors([3.0], [1.0], [True]).assign(model_version="9")])
    served = served_errors(errors)
    assert len(served) == 1
    assert served.iloc[0]["model_version"] == "10"  # numeric, not string, order


def test_rolling_skill_uses_only_the_last_window_of_errors() -> None:
    # 10 old terrible days, then 20 days with half the persistence error.
    errors = _errors([9.0] * 10 + [1.0] * 20, [1.0] * 10 + [2.0] * 20, [False] * 10 + [True] * 20)
    skill = rolling_skill(errors, window=20)
    assert skill["n"] == 20
    assert skill["mae"] == pytest.approx(1.0)
    assert skill["persistence_mae"] == pytest.approx(2.0)
    assert skill["mase"] == pytest.approx(0.5)
    assert skill["coverage"] == pytest.approx(1.0)
    assert skill["directional_accuracy"] == pytest.approx(1.0)


def test_rolling_skill_of_nothing_is_nan_not_an_error() -> None:
    skill = rolling_skill(_errors([], [], []))
    assert skill["n"] == 0
    assert set(skill) == {"n", "mae", "persistence_mae", "mase", "coverage", "directional_accuracy"}
    assert all(np.isnan(value) for name, value in skill.items() if name != "n")


def test_rolling_skill_of_one_realised_error_is_that_error() -> None:
    skill = rolling_skill(_errors([2.0], [4.0], [False]))
    assert (skill["n"], skill["mae"], skill["mase"], skill["coverage"]) == (1, 2.0, 0.5, 0.0)


def test_rolling_skill_averages_the_errors_it_has_and_skips_a_missing_one() -> None:
    skill = rolling_skill(_errors([1.0, np.nan, 3.0], [2.0, np.nan, 2.0], [True] * 3))
    assert (skill["n"], skill["mae"], skill["persistence_mae"]) == (3, 2.0, 2.0)


def _inside(n: int, misses: int) -> list[bool]:
    return [True] * (n - misses) + [False] * misses


def test_performance_is_tested_only_once_enough_errors_are_realised() -> None:
    few = _errors([3.0] * 19, [1.0] * 19, _inside(19, 19))
    enough = _errors([3.0] * 20, [1.0] * 20, _inside(20, 20))
    assert symbol_tests(few, None, "AAA", None, 0.8, 0.001) == []
    tests = symbol_tests(enough, None, "AAA", None, 0.8, 0.001)
    assert [t.test for t in tests] == ["coverage", "skill", "bias"]
    assert all(t.window == 20 for t in tests)
    assert [t.fired for t in tests] == [True, True, False]  # misses on both sides


def test_performance_tests_read_only_the_last_window_of_errors() -> None:
    # 60 calibrated days after 40 terrible ones: the terrible days are out of the window.
    errors = _errors([9.0] * 40 + [1.0] * 60, [1.0] * 100, [False] * 40 + _inside(60, 12))
    tests = symbol_tests(errors, None, "AAA", None, 0.8, 0.001)
    assert {t.test: t.window for t in tests} == {"coverage": 60, "skill": 60, "bias": 60}
    assert not any(t.fired for t in tests)


def test_a_model_without_a_current_reference_is_not_tested_for_drift() -> None:
    errors = _errors([1.0] * 30, [1.0] * 30, _inside(30, 6))
    old_profile = {"log_return": {"edges": [0.0], "fractions": [0.5, 0.5]}}
    inputs = pd.DataFrame({"symbol": ["AAA"], "date": [pd.Timestamp("2013-01-01")]})
    tests = symbol_tests(errors, inputs, "AAA", old_profile, 0.8, 0.001)
    assert [t.test for t in tests] == ["coverage", "skill", "bias"]


def test_each_symbols_tests_see_only_its_own_last_rows_in_date_order() -> None:
    # Rows of two symbols interleaved and out of date order, as the store returns them.
    days = pd.bdate_range("2013-01-01", periods=6)
    frame = pd.DataFrame(
        {
            "symbol": ["BBB", "AAA", "BBB", "AAA", "AAA", "BBB", "AAA", "AAA", "AAA"],
            "date": [
                days[2],
                days[5],
                days[0],
                days[1],
                days[0],
                days[1],
                days[3],
                days[2],
                days[4],
            ],
            "value": [32.0, 15.0, 30.0, 11.0, 10.0, 31.0, 13.0, 12.0, 14.0],
        }
    )
    split = _last_rows(frame, "date", 4, ["value"])
    assert list(split) == ["AAA", "BBB"]
    assert split["AAA"]["value"].tolist() == [12.0, 13.0, 14.0, 15.0]
    assert split["BBB"]["value"].tolist() == [30.0, 31.0, 32.0]
    assert _last_rows(frame.iloc[:0], "date", 4, ["value"]) == {}


def test_the_days_tests_of_a_symbol_match_its_tests_alone() -> None:
    # The one-pass split used for the day's summary gives each symbol the same tests
    # as symbol_tests on that symbol's rows alone.
    failing = _errors([3.0] * 40, [1.0] * 40, _inside(40, 30), signs=[1.0] * 40)
    fine = _errors([1.0] * 40, [1.1] * 40, _inside(40, 8)).assign(symbol="BBB")
    both = pd.concat([fine, failing]).sample(frac=1.0, random_state=1)
    split = _recent_errors(both, 60)
    for symbol, own in (("AAA", failing), ("BBB", fine)):
        alone = symbol_tests(own, None, symbol, None, 0.8, 0.001)
        together = _tests(split[symbol], None, symbol, None, 0.8, 0.001)
        assert together == alone
    assert all(t.fired for t in symbol_tests(failing, None, "AAA", None, 0.8, 0.001))
    assert not any(t.fired for t in symbol_tests(fine, None, "BBB", None, 0.8, 0.001))


def test_a_days_monitoring_reads_only_its_lookback_of_history(ops_home: Settings) -> None:
    from market_predictor.calendar import shift_trading_days

    replay(ops_home, start=dt.date(2012, 12, 3), end=dt.date(2012, 12, 7), retrain=False)
    # Friday's forecast and the errors realised on Friday are the newest history.
    lookback = LOOKBACK_WINDOWS * PERFORMANCE_WINDOW
    last_day_in = shift_trading_days(dt.date(2012, 12, 7), lookback, ops_home.calendar)
    first_day_out = shift_trading_days(last_day_in, 1, ops_home.calendar)
    inside = monitor_as_of(ops_home, as_of=last_day_in)
    outside = monitor_as_of(ops_home, as_of=first_day_out)
    assert set(inside.symbols) == {"AAPL", "MSFT"}
    assert all(row.n == 1 for row in inside.symbols.values())  # Friday's error only
    assert not outside.symbols and outside.message.startswith("no predictions")


def test_monitor_before_any_prediction_writes_nothing(ops_prices: Settings) -> None:
    summary = monitor_as_of(ops_prices)
    assert summary.message.startswith("nothing to monitor yet")
    assert not FeatureStore.from_settings(ops_prices).summary.exists()


def test_every_summary_row_names_its_test_statistic_threshold_and_window(
    ops_home: Settings,
) -> None:
    replay(ops_home, start=dt.date(2012, 12, 3), end=dt.date(2012, 12, 7), retrain=False)
    latest = monitor_as_of(ops_home, as_of=dt.date(2012, 12, 7))
    # 2 symbols x (coverage + skill + bias + 5 drift inputs + scale) share the day's 1%.
    assert latest.alpha == 0.01
    assert latest.test_level == pytest.approx(0.01 / 18)
    for row in latest.symbols.values():
        assert row.n == 4
        # Four realised errors: only the input tests ran, drift on its 20-day window
        # and scale on the last week.
        assert {t.test: t.window for t in row.tests} == {
            "drift:return_z": 20,
            "drift:gap_z": 20,
            "drift:range_z": 20,
            "drift:volatility_ratio": 20,
            "drift:volume_change": 20,
            "scale:range_z": 5,
        }
        assert all(t.threshold.startswith("> ") for t in row.tests)
        assert row.test in {t.test for t in row.tests}
        reported = next(t for t in row.tests if t.test == row.test)
        assert row.statistic == reported.statistic and row.test_window == reported.window
    stored = FeatureStore.from_settings(ops_home).summary.read()
    assert set(stored["test"]) <= {t.test for r in latest.symbols.values() for t in r.tests}
    assert stored["tests"].str.startswith("[").all()


def test_monitor_shares_the_configured_family_wise_level_among_the_days_tests(
    ops_home: Settings,
) -> None:
    replay(ops_home, start=dt.date(2012, 12, 3), end=dt.date(2012, 12, 4), retrain=False)
    looser = ops_home.model_copy(update={"trigger_alpha": 0.05})
    result = monitor_as_of(looser, as_of=dt.date(2012, 12, 4))
    assert result.alpha == 0.05
    # 2 symbols x (coverage + skill + bias + 5 drift inputs + scale): Bonferroni over 18.
    assert result.test_level == pytest.approx(0.05 / 18)


def test_an_actual_on_either_edge_of_the_interval_is_inside_and_a_cent_beyond_is_not() -> None:
    predictions = _predictions([("AAA", "2013-01-03", 100.0, 101.0, 98.0, 104.0)] * 4)
    prices = [98.0, 104.0, 97.99, 104.01]
    inside = [
        bool(
            realised_errors(predictions.iloc[[i]], _prices([("AAA", "2013-01-03", p)])).iloc[0][
                "inside_interval"
            ]
        )
        for i, p in enumerate(prices)
    ]
    assert inside == [True, True, False, False]


def test_every_error_row_keeps_its_predictions_identity_and_forecast() -> None:
    predictions = _predictions(
        [
            ("AAA", "2013-01-03", 100.0, 102.0, 97.0, 105.0),
            ("BBB", "2013-01-03", 50.0, 49.0, 47.0, 52.0),
        ]
    ).assign(model_name=["m", "n"], model_version=["3", "4"])
    prices = _prices([("AAA", "2013-01-03", 101.0), ("BBB", "2013-01-03", 51.0)])
    errors = realised_errors(predictions, prices).set_index("symbol")
    assert errors.loc["AAA", "actual_close"] == 101.0 and errors.loc["BBB", "actual_close"] == 51.0
    for column in ("target_date", "as_of_date", "model_name", "model_version"):
        assert list(errors[column]) == list(predictions[column]), column
    for column in ("predicted_close", "lower", "upper", "last_close"):
        assert errors[column].tolist() == predictions[column].tolist(), column
    assert errors.loc["BBB", "abs_error"] == pytest.approx(2.0)
    assert errors.loc["BBB", "persistence_abs_error"] == pytest.approx(1.0)
    assert not bool(errors.loc["BBB", "direction_correct"])
    assert str(errors["created_at"].dt.tz) == "UTC"
    age = pd.Timestamp.now(tz="UTC") - errors["created_at"].iloc[0]
    assert pd.Timedelta(0) <= age < pd.Timedelta(minutes=5)


def test_a_called_move_when_the_price_stood_still_is_a_wrong_direction() -> None:
    predictions = _predictions([("AAA", "2013-01-03", 100.0, 101.0, 98.0, 104.0)])
    row = realised_errors(predictions, _prices([("AAA", "2013-01-03", 100.0)])).iloc[0]
    assert not pd.isna(row["direction_correct"]) and not bool(row["direction_correct"])


def test_served_errors_keep_one_row_per_symbol_and_day_with_the_input_columns() -> None:
    first = _errors([1.0, 2.0], [1.0, 1.0], [True, True])
    other = first.assign(symbol="BBB", abs_error=[7.0, 8.0])
    newer = first.iloc[[1]].assign(model_version="2", abs_error=5.0)
    errors = pd.concat([newer, other, first], ignore_index=True)
    served = served_errors(errors)
    assert list(served.columns) == list(errors.columns)
    assert list(served.index) == list(range(4))
    assert list(zip(served["symbol"], served["abs_error"], strict=True)) == [
        ("AAA", 1.0),
        ("AAA", 5.0),
        ("BBB", 7.0),
        ("BBB", 8.0),
    ]
    assert served_errors(errors.iloc[:0]).empty


def test_rolling_skill_takes_the_newest_days_whatever_the_row_order() -> None:
    errors = _errors([9.0] * 5 + [1.0] * 5, [1.0] * 10, [False] * 5 + [True] * 5)
    skill = rolling_skill(errors.iloc[::-1], window=5)
    assert skill["mae"] == pytest.approx(1.0)
    assert skill["coverage"] == pytest.approx(1.0)


def test_rolling_direction_counts_only_the_days_that_called_a_move() -> None:
    errors = _errors([1.0] * 4, [1.0] * 4, [True, False, False, False])
    errors["direction_correct"] = pd.array([True, False, pd.NA, pd.NA], dtype="boolean")
    skill = rolling_skill(errors, window=4)
    assert skill["directional_accuracy"] == pytest.approx(0.5)
    assert skill["coverage"] == pytest.approx(0.25)
    assert skill["n"] == 4
    undecided = errors.assign(direction_correct=pd.array([pd.NA] * 4, dtype="boolean"))
    assert np.isnan(rolling_skill(undecided, window=4)["directional_accuracy"])


def _mixed_errors(seed: int) -> pd.DataFrame:
    """Two symbols in shuffled order: 70 days of AAA (beyond the window), 10 of BBB,
    with missing errors and forecasts that called no direction."""
    rng = np.random.default_rng(seed)
    frames = []
    for symbol, days in (("AAA", 70), ("BBB", 10)):
        frame = _errors(
            list(rng.uniform(0, 3, days)),
            list(rng.uniform(0, 3, days)),
            list(rng.random(days) < 0.8),
        ).assign(symbol=symbol)
        frame.loc[rng.random(days) < 0.1, "abs_error"] = np.nan
        direction = rng.random(days) < 0.5
        frame["direction_correct"] = pd.array(direction, dtype="boolean")
        frame.loc[rng.random(days) < 0.2, "direction_correct"] = pd.NA
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=seed)


@pytest.mark.parametrize("window", [60, 5])
def test_skill_of_every_symbol_in_one_pass_equals_each_symbols_rolling_skill(window: int) -> None:
    errors = _mixed_errors(seed=4)
    skills = skill_by_symbol(errors, ["BBB", "AAA", "CCC"], window=window)
    assert list(skills) == ["BBB", "AAA", "CCC"]
    for symbol in ("AAA", "BBB"):
        expected = rolling_skill(errors[errors["symbol"] == symbol], window=window)
        assert skills[symbol] == pytest.approx(expected, nan_ok=True), symbol
    assert skills["CCC"]["n"] == 0
    assert set(skills["CCC"]) == set(skills["AAA"])
    assert all(np.isnan(value) for name, value in skills["CCC"].items() if name != "n")
    assert skill_by_symbol(errors.iloc[:0], ["AAA"])["AAA"]["n"] == 0


def test_skill_of_a_symbol_whose_persistence_made_no_error_has_no_mase() -> None:
    errors = _errors([1.0, 2.0], [0.0, 0.0], [True, True])
    assert np.isnan(skill_by_symbol(errors, ["AAA"])["AAA"]["mase"])
    assert skill_by_symbol(errors, ["AAA"])["AAA"]["mae"] == pytest.approx(1.5)
    small = _errors([1.0, 2.0], [0.5, 0.5], [True, True])
    assert skill_by_symbol(small, ["AAA"])["AAA"]["mase"] == pytest.approx(3.0)


def test_skill_with_no_measured_error_or_no_called_direction_is_nan() -> None:
    errors = _errors([np.nan, np.nan], [np.nan, np.nan], [True, False])
    errors["direction_correct"] = pd.array([pd.NA, pd.NA], dtype="boolean")
    skill = skill_by_symbol(errors, ["AAA"])["AAA"]
    assert skill["n"] == 2 and skill["coverage"] == pytest.approx(0.5)
    assert np.isnan(skill["mae"]) and np.isnan(skill["persistence_mae"])
    assert np.isnan(skill["directional_accuracy"])


def _sign_reference() -> dict:
    """A current drift reference on one input: half of AAA's days below zero, half
    above (the pooled profile, for other symbols, splits at 5)."""
    return {
        "version": REFERENCE_VERSION,
        "inputs": ["return_z"],
        "window": 20,
        "symbols": {"AAA": {"return_z": {"edges": [0.0], "fractions": [0.5, 0.5]}}},
        "pooled": {"return_z": {"edges": [5.0], "fractions": [0.5, 0.5]}},
        "inflation": {"return_z": 1.0},
        # The last week's mean is tested against 0.5 for AAA, 5 for other symbols.
        "scale": {
            "input": "return_z",
            "window": SCALE_WINDOW,
            "symbols": {"AAA": {"mean": float(np.log(0.5)), "sd": 0.0}},
            "pooled": {"mean": float(np.log(5.0)), "sd": 0.0},
        },
    }


def test_drift_tests_the_newest_window_against_the_symbols_own_profile() -> None:
    errors = _errors([1.0] * 30, [1.0] * 30, _inside(30, 6))
    days = pd.bdate_range("2013-01-01", periods=40)
    # 20 balanced days, then 20 days all above zero: only the newest 20 are a drift.
    values = [-1.0, 1.0] * 10 + [1.0] * 20
    inputs = pd.DataFrame({"symbol": "AAA", "date": days, "return_z": values})
    tests = symbol_tests(errors, inputs.iloc[::-1], "AAA", _sign_reference(), 0.8, 0.001)
    assert [t.test for t in tests] == [
        "coverage",
        "skill",
        "bias",
        "drift:return_z",
        "scale:return_z",
    ]
    drift, scale = tests[-2:]
    assert drift.window == 20 and drift.fired
    assert scale.window == SCALE_WINDOW and scale.fired
    balanced = symbol_tests(errors, inputs.iloc[:20], "AAA", _sign_reference(), 0.8, 0.001)
    assert [(t.fired, t.window) for t in balanced[-2:]] == [(False, 20), (False, SCALE_WINDOW)]


def test_a_current_reference_without_input_rows_runs_only_the_performance_tests() -> None:
    errors = _errors([1.0] * 30, [1.0] * 30, _inside(30, 6))
    tests = symbol_tests(errors, None, "AAA", _sign_reference(), 0.8, 0.001)
    assert [t.test for t in tests] == ["coverage", "skill", "bias"]


def test_a_median_the_closes_keep_beating_is_flagged_as_biased() -> None:
    # Every close lands 1 above the median (half the interval's width), with some spread.
    above = _errors([0.5, 1.5] * 15, [1.0] * 30, _inside(30, 6), signs=[1.0] * 30)
    tests = {t.test: t for t in symbol_tests(above, None, "AAA", None, 0.8, 0.001)}
    assert tests["bias"].fired and tests["bias"].statistic > 0
    below = above.assign(actual_close=200.0 - above["actual_close"])
    tests = {t.test: t for t in symbol_tests(below, None, "AAA", None, 0.8, 0.001)}
    assert tests["bias"].fired and tests["bias"].statistic < 0


def test_errors_are_scaled_by_the_interval_width_and_a_zero_width_has_none() -> None:
    errors = pd.DataFrame(
        {
            "actual_close": [103.0, 99.0, 100.25, 100.0, 101.0],
            "predicted_close": [100.0] * 5,
            "lower": [98.0, 96.0, 99.75, 100.0, 100.0],
            "upper": [104.0, 100.0, 100.25, 100.0, 100.0],
        }
    )
    scaled = scaled_errors(errors)
    assert scaled[:3].tolist() == [pytest.approx(0.5), pytest.approx(-0.25), pytest.approx(0.5)]
    assert np.isnan(scaled[3:]).all()  # an interval of no width scales nothing


def test_the_days_tests_at_a_longer_horizon_read_its_window_and_match_its_tests_alone() -> None:
    # 200 five-day errors of two symbols: the tests read each one's last 180.
    rng = np.random.default_rng(4)
    failing = _errors([3.0] * 200, [1.0] * 200, _inside(200, 150), signs=[1.0] * 200)
    fine = _errors(
        list(np.abs(rng.normal(1, 0.3, 200))), [1.0] * 200, list(rng.random(200) < 0.8)
    ).assign(symbol="BBB")
    both = pd.concat([fine, failing]).sample(frac=1.0, random_state=2)
    split = _recent_errors(both, horizon_window(5))
    assert {symbol: len(rows["abs_error"]) for symbol, rows in split.items()} == {
        "AAA": 180,
        "BBB": 180,
    }
    for symbol, own in (("AAA", failing), ("BBB", fine)):
        alone = symbol_tests(own, None, symbol, None, 0.8, 0.001, horizon=5)
        assert _tests(split[symbol], None, symbol, None, 0.8, 0.001, 5) == alone
        assert [t.test for t in alone] == ["coverage:h5", "skill:h5", "bias:h5"]
        assert [t.window for t in alone] == [36, 180, 36]
    assert all(t.fired for t in symbol_tests(failing, None, "AAA", None, 0.8, 0.001, horizon=5))


def test_a_rows_verdict_reports_the_strongest_test_and_why_each_fired() -> None:
    errors = _errors([3.0] * 40, [1.0] * 40, _inside(40, 4), signs=[1.0] * 40)
    tests = symbol_tests(errors, None, "AAA", None, 0.8, 0.001)
    quiet, skill, bias = tests
    assert not quiet.fired and skill.fired and bias.fired
    verdict = _verdict(tests)
    top = min((skill, bias), key=lambda t: t.p_value)  # type: ignore[arg-type,return-value]
    assert verdict["test"] == top.test and verdict["statistic"] == top.statistic
    assert verdict["threshold"] == top.threshold and verdict["test_window"] == top.window
    assert verdict["p_value"] == top.p_value
    assert verdict["retrain_recommended"] is True
    assert verdict["reason"] == f"{skill.describe()}; {bias.describe()}"
    assert [t["test"] for t in json.loads(verdict["tests"])] == ["coverage", "skill", "bias"]
    assert _verdict([quiet]) | {"tests": "-"} == {
        "test": "coverage",
        "statistic": quiet.statistic,
        "threshold": quiet.threshold,
        "test_window": 40,
        "p_value": quiet.p_value,
        "tests": "-",
        "retrain_recommended": False,
        "reason": "",
    }
    assert _verdict([]) == {
        **dict.fromkeys(("test", "statistic", "threshold", "test_window", "p_value")),
        "tests": "[]",
        "retrain_recommended": False,
        "reason": "",
    }

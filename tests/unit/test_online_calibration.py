"""The online interval scale's rule (adaptive conformal inference) at its boundaries, and
its backtest simulation against the same rule run the daily job's way."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from market_predictor.online_calibration import (
    MAX_LOG_SCALE,
    OnlineRule,
    beside_static,
    continue_states,
    scale_interval,
    scaled_bound,
    simulate,
    state_from_errors,
    step,
)

RULE = OnlineRule.for_quantiles((0.1, 0.5, 0.9), eta=0.05)


def test_the_tail_levels_come_from_the_quantiles() -> None:
    rule = OnlineRule.for_quantiles((0.05, 0.5, 0.8), eta=0.1)
    assert rule.lower_level == pytest.approx(0.05)
    assert rule.upper_level == pytest.approx(0.2)


def test_a_miss_raises_the_scale_by_eta_times_one_minus_the_level() -> None:
    assert step(0.0, True, 0.1, 0.05, MAX_LOG_SCALE) == pytest.approx(0.05 * 0.9)


def test_a_hit_lowers_the_scale_by_eta_times_the_level() -> None:
    assert step(0.0, False, 0.1, 0.05, MAX_LOG_SCALE) == pytest.approx(-0.005)


def test_the_clip_holds_both_ways() -> None:
    bound = math.log(3)
    assert step(bound - 0.01, True, 0.1, 0.05, bound) == bound
    assert step(-bound + 0.001, False, 0.1, 0.05, bound) == -bound
    # Inside the bounds nothing is clipped.
    assert step(bound - 0.1, True, 0.1, 0.05, bound) == pytest.approx(bound - 0.1 + 0.045)


def test_eta_zero_leaves_the_scale_at_zero() -> None:
    assert step(0.0, True, 0.1, 0.0, MAX_LOG_SCALE) == 0.0
    assert step(0.0, False, 0.1, 0.0, MAX_LOG_SCALE) == 0.0


def test_scaling_widens_in_log_return_space_and_never_moves_the_median() -> None:
    median, lower, upper = np.array([100.0]), np.array([90.0]), np.array([110.0])
    s = math.log(2)
    assert scaled_bound(median, lower, np.array([s]))[0] == pytest.approx(100 * 0.9**2)
    assert scaled_bound(median, upper, np.array([s]))[0] == pytest.approx(100 * 1.1**2)
    assert scaled_bound(median, lower, np.array([0.0]))[0] == 90.0  # exactly, not approx
    frame = pd.DataFrame(
        {
            "symbol": ["A"],
            "horizon": [1],
            "predicted_close": [100.0],
            "lower": [90.0],
            "upper": [110.0],
        }
    )
    states = pd.DataFrame(
        {"symbol": ["A"], "horizon": [1], "log_scale_lower": [s], "log_scale_upper": [-s]}
    )
    scaled = scale_interval(frame, states)
    assert scaled["predicted_close"].iloc[0] == 100.0
    assert scaled["lower"].iloc[0] == pytest.approx(81.0)
    assert scaled["upper"].iloc[0] == pytest.approx(100 * 1.1**0.5)


def test_a_forecast_without_a_state_keeps_its_interval() -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["A", "B"],
            "predicted_close": [100.0, 50.0],
            "lower": [90.0, 45.0],
            "upper": [110.0, 55.0],
        }
    )
    states = pd.DataFrame(
        {"symbol": ["A"], "horizon": [1], "log_scale_lower": [0.3], "log_scale_upper": [0.3]}
    )
    scaled = scale_interval(frame, states)
    assert scaled.loc[1, ["lower", "upper"]].tolist() == [45.0, 55.0]
    assert scaled.loc[0, "lower"] < 90.0


def _errors(actuals: list[float], symbol: str = "A") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": symbol,
            "horizon": 1,
            "target_date": pd.bdate_range("2020-01-01", periods=len(actuals)),
            "actual_close": actuals,
            "lower": 90.0,
            "upper": 110.0,
        }
    )


def test_the_state_counts_misses_of_each_tail_separately() -> None:
    states = state_from_errors(_errors([80.0, 100.0, 120.0, 120.0]), RULE)
    assert states["n_updates"].dtype == "int64"  # a count, as the scales table stores it
    state = states.iloc[0]
    assert state["n_updates"] == 4
    assert state["log_scale_lower"] == pytest.approx(0.045 - 3 * 0.005)
    assert state["log_scale_upper"] == pytest.approx(2 * 0.045 - 2 * 0.005)


def test_a_close_on_the_bound_is_a_hit() -> None:
    state = state_from_errors(_errors([90.0, 110.0]), RULE).iloc[0]
    assert state["log_scale_lower"] == pytest.approx(-0.01)
    assert state["log_scale_upper"] == pytest.approx(-0.01)


def test_errors_without_a_horizon_are_next_day_errors() -> None:
    state = state_from_errors(_errors([80.0]).drop(columns="horizon"), RULE)
    assert state[["symbol", "horizon"]].values.tolist() == [["A", 1]]
    # The undamped step: a lower miss raises the scale by eta * (1 - 0.1).
    assert state["log_scale_lower"].iloc[0] == pytest.approx(0.05 * 0.9)


def test_the_state_takes_errors_in_target_order_whatever_the_row_order() -> None:
    # With the clip binding, the order matters: a shuffle must not change the answer.
    rule = OnlineRule(eta=0.5, lower_level=0.1, upper_level=0.1, bound=0.6)
    errors = _errors([80.0, 80.0, 100.0, 100.0, 80.0, 100.0])
    ordered = state_from_errors(errors, rule)
    shuffled = state_from_errors(errors.sample(frac=1.0, random_state=3), rule)
    pd.testing.assert_frame_equal(ordered, shuffled)
    # Clipped at 0.6 after two misses, two hits (0.5), a miss clipped again, a hit.
    assert ordered["log_scale_lower"].iloc[0] == pytest.approx(0.6 - 0.05)


def _forecasts(n: int, sigma: np.ndarray, width: float, seed: int = 7) -> pd.DataFrame:
    """A fixed-width log-return interval around a flat median on a random walk whose
    daily volatility is `sigma` (per day)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n + 1)
    returns = rng.standard_normal(n) * sigma
    return pd.DataFrame(
        {
            "forecaster": "fixed",
            "fold_start": dates[0],
            "symbol": "A",
            "as_of_date": dates[:-1],
            "target_date": dates[1:],
            "last_close": 100.0,
            "predicted_close": 100.0,
            "lower": 100.0 * math.exp(-width),
            "upper": 100.0 * math.exp(width),
            "actual_close": 100.0 * np.exp(returns),
        }
    )


def _inside(frame: pd.DataFrame) -> np.ndarray:
    return (
        (frame["actual_close"] >= frame["lower"]) & (frame["actual_close"] <= frame["upper"])
    ).to_numpy()


def test_online_scale_restores_coverage_after_the_volatility_doubles() -> None:
    calm, stormy = 300, 600
    sigma = np.r_[np.full(calm, 0.01), np.full(stormy, 0.02)]
    # The interval fits the calm regime: +-1.2816 sigma is the 10%-90% band.
    forecasts = _forecasts(calm + stormy, sigma, width=1.2816 * 0.01)
    static = _inside(forecasts)[-200:].mean()
    served = _inside(simulate(forecasts, OnlineRule.for_quantiles((0.1, 0.5, 0.9), 0.05)))
    # Without the scale the stormy regime's coverage stays near 2*Phi(0.64) - 1 = 0.48.
    assert static < 0.6
    # With it, coverage over the last 200 stormy days is back near the nominal 0.8.
    assert 0.72 <= served[-200:].mean() <= 0.88
    # And within the first 100 stormy days it has already climbed well above static.
    assert served[calm + 100 : calm + 300].mean() > static + 0.15


def test_eta_zero_serves_the_static_interval() -> None:
    forecasts = _forecasts(50, np.full(50, 0.02), width=0.01)
    served = simulate(forecasts, OnlineRule.for_quantiles((0.1, 0.5, 0.9), 0.0))
    static = served.pop("lower_static"), served.pop("upper_static")
    pd.testing.assert_frame_equal(served, forecasts)
    assert (static[0] == forecasts["lower"]).all() and (static[1] == forecasts["upper"]).all()


def test_simulating_no_forecasts_adds_only_the_static_columns() -> None:
    forecasts = _forecasts(3, np.full(3, 0.02), width=0.01).iloc[:0]
    served = simulate(forecasts, RULE)
    assert served.empty
    assert list(served.columns) == [*forecasts.columns, "lower_static", "upper_static"]


def test_a_close_on_the_served_bound_is_a_hit_in_the_simulation_too() -> None:
    # Median 10, bound 7.8 and 11.1: 10 * (7.8 / 10) rounds above 7.8 and 10 * (11.1 / 10)
    # below 11.1, so an unscaled bound must be served exactly as given for a close on it
    # to be a hit. A's first close is on its lower bound, B's on its upper.
    dates = pd.bdate_range("2020-01-01", periods=4)
    forecasts = pd.DataFrame(
        {
            "symbol": ["A"] * 3 + ["B"] * 3,
            "as_of_date": [*dates[:3], *dates[:3]],
            "target_date": [*dates[1:], *dates[1:]],
            "predicted_close": 10.0,
            "lower": 7.8,
            "upper": 11.1,
            "actual_close": [7.8, 10.0, 10.0, 11.1, 10.0, 10.0],
        }
    )
    served = simulate(forecasts, RULE)
    # The third forecasts (as of day 2) follow the first's error alone: a hit of each
    # tail lowers both log scales by eta * 0.1.
    hit = math.exp(-0.05 * 0.1)
    for third in (2, 5):
        assert served.loc[third, "lower"] == pytest.approx(10 * 0.78**hit, rel=1e-12)
        assert served.loc[third, "upper"] == pytest.approx(10 * 1.11**hit, rel=1e-12)
    assert (served["lower_static"] == 7.8).all() and (served["upper_static"] == 11.1).all()


def test_simulate_never_uses_an_error_before_its_target_date_has_passed() -> None:
    # Two-day-ahead forecasts: the error of the forecast made on day t is known on t+2, so
    # the forecast made on t+1 must still be served with the starting scale.
    forecasts = _forecasts(6, np.full(6, 0.05), width=0.001)
    dates = pd.bdate_range("2020-01-01", periods=8)
    forecasts["target_date"] = dates[2:]
    served = simulate(forecasts, RULE)
    assert served.loc[0, "lower"] == forecasts.loc[0, "lower"]
    assert served.loc[1, "lower"] == forecasts.loc[1, "lower"]  # day 0's error not due
    # A future close changes nothing served before it is due.
    moved = forecasts.copy()
    moved.loc[5, "actual_close"] = 1.0
    pd.testing.assert_frame_equal(
        simulate(moved, RULE).drop(columns="actual_close"), served.drop(columns="actual_close")
    )


def test_simulate_serves_what_the_daily_rule_computes_from_the_served_errors() -> None:
    forecasts = _forecasts(120, np.full(120, 0.02), width=0.015, seed=11)
    served = simulate(forecasts, RULE)
    for t in (1, 40, 119):
        # The daily job: state from every served error with a target before the as-of day.
        known = served[served["target_date"] < served.loc[t, "as_of_date"]]
        state = state_from_errors(known, RULE)
        expected = scale_interval(forecasts.loc[[t]], state)
        assert served.loc[t, "lower"] == pytest.approx(expected["lower"].iloc[0], rel=1e-12)
        assert served.loc[t, "upper"] == pytest.approx(expected["upper"].iloc[0], rel=1e-12)


def test_simulate_resets_at_each_refit() -> None:
    forecasts = _forecasts(40, np.full(40, 0.05), width=0.001)
    second = forecasts.index >= 20
    forecasts.loc[second, "fold_start"] = forecasts.loc[20, "as_of_date"]
    served = simulate(forecasts, RULE)
    assert served.loc[19, "lower"] < forecasts.loc[19, "lower"]  # widened by misses
    assert served.loc[20, "lower"] == forecasts.loc[20, "lower"]  # a new fit: scale 1


def test_the_static_columns_sit_beside_their_own_horizon() -> None:
    def table(coverage: dict[int, float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "forecaster": "m",
                "horizon": list(coverage),
                "symbol": "A",
                "coverage": list(coverage.values()),
                "pinball": [0.01 * h for h in coverage],
            }
        )

    merged = beside_static(table({1: 0.8, 5: 0.7}), table({1: 0.6, 5: 0.5}))
    assert len(merged) == 2
    assert merged.set_index("horizon")["coverage_static"].to_dict() == {1: 0.6, 5: 0.5}


def test_the_step_at_horizon_h_is_eta_over_the_square_root_of_h() -> None:
    assert RULE.at(1) == RULE
    assert RULE.at(4).eta == pytest.approx(0.025)
    assert RULE.at(4).lower_level == RULE.lower_level and RULE.at(4).bound == RULE.bound
    with pytest.raises(ValueError, match=r"^horizon must be at least 1, got 0$"):
        RULE.at(0)


def test_an_h_day_error_moves_the_state_by_the_damped_step() -> None:
    errors = pd.concat([_errors([80.0]), _errors([80.0]).assign(horizon=4)])
    state = state_from_errors(errors, RULE).set_index("horizon")
    assert state.loc[1, "log_scale_lower"] == pytest.approx(0.05 * 0.9)
    assert state.loc[4, "log_scale_lower"] == pytest.approx(0.025 * 0.9)


def test_simulate_serves_each_horizon_with_its_damped_step() -> None:
    forecasts = _forecasts(30, np.full(30, 0.05), width=0.001)
    longer = forecasts.assign(horizon=4)
    served = simulate(pd.concat([forecasts.assign(horizon=1), longer], ignore_index=True), RULE)
    for horizon in (1, 4):
        mine = served[served["horizon"] == horizon].reset_index(drop=True)
        known = mine[mine["target_date"] < mine.loc[20, "as_of_date"]]
        state = state_from_errors(known, RULE)
        expected = scale_interval(mine.loc[[20]].assign(lower=mine.loc[20, "lower_static"]), state)
        assert mine.loc[20, "lower"] == pytest.approx(expected["lower"].iloc[0], rel=1e-12)


def _many_errors(seed: int) -> pd.DataFrame:
    """Errors of 3 symbols x 2 horizons over 40 days, misses often enough to hit the clip."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2021-01-01", periods=40)
    frame = pd.MultiIndex.from_product(
        [["A", "B", "C"], [1, 5], days], names=["symbol", "horizon", "target_date"]
    ).to_frame(index=False)
    frame["actual_close"] = 100 + rng.normal(0, 15, len(frame))
    frame.loc[rng.random(len(frame)) < 0.05, "actual_close"] = np.nan
    return frame.assign(lower=90.0, upper=110.0).sample(frac=1.0, random_state=seed)


def _folded_one_error_at_a_time(errors: pd.DataFrame, rule: OnlineRule) -> dict:
    states = {}
    for (symbol, horizon), group in errors.sort_values("target_date").groupby(
        ["symbol", "horizon"]
    ):
        lower = upper = 0.0
        eta = rule.at(int(horizon)).eta
        for row in group.itertuples():
            if np.isnan(row.actual_close):
                continue
            lower = step(lower, row.actual_close < row.lower, rule.lower_level, eta, rule.bound)
            upper = step(upper, row.actual_close > row.upper, rule.upper_level, eta, rule.bound)
        states[(symbol, horizon)] = (lower, upper)
    return states


def test_the_state_of_many_groups_is_each_groups_own_fold_bit_for_bit() -> None:
    rule = OnlineRule(eta=0.3, lower_level=0.1, upper_level=0.2, bound=0.5)
    errors = _many_errors(seed=5)
    state = state_from_errors(errors, rule)
    expected = _folded_one_error_at_a_time(errors, rule)
    assert len(state) == len(expected) == 6
    for row in state.itertuples():
        assert (row.log_scale_lower, row.log_scale_upper) == expected[(row.symbol, row.horizon)]
    counts = errors.dropna(subset=["actual_close"]).groupby(["symbol", "horizon"]).size()
    assert state.set_index(["symbol", "horizon"])["n_updates"].to_dict() == counts.to_dict()


def test_a_state_moved_on_by_later_errors_equals_the_state_of_them_all() -> None:
    rule = OnlineRule(eta=0.3, lower_level=0.1, upper_level=0.2, bound=0.5)
    errors = _many_errors(seed=6)
    # Group A/5 has no errors after the cut, C/1 none before it: both must come through.
    errors = errors[
        ~(
            (errors["symbol"] == "C")
            & (errors["horizon"] == 1)
            & (errors["target_date"] < "2021-01-20")
        )
    ]
    errors = errors[
        ~(
            (errors["symbol"] == "A")
            & (errors["horizon"] == 5)
            & (errors["target_date"] >= "2021-01-20")
        )
    ]
    early = errors["target_date"] < "2021-01-20"
    moved = continue_states(state_from_errors(errors[early], rule), errors[~early], rule)
    pd.testing.assert_frame_equal(moved, state_from_errors(errors, rule), check_exact=True)
    unchanged = state_from_errors(errors[early], rule)
    pd.testing.assert_frame_equal(
        continue_states(unchanged, errors.iloc[:0], rule), unchanged, check_exact=True
    )

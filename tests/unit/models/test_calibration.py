"""Interval recalibration: fitted on held-out rows only, it moves the interval towards the
nominal coverage as far as the held-out rows' evidence goes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.models.calibration import (
    POOLED,
    PRIOR_ROWS,
    IntervalCalibration,
    calibrate,
    fit_calibration,
    level_factors,
    shrunk_factors,
)
from market_predictor.models.forecaster import Forecaster
from market_predictor.training.fit import fit_baseline
from tests.fixtures.ml import garch_prices, synthetic_prices


def _coverage(forecaster, prices: pd.DataFrame, start: dt.date) -> float:
    from market_predictor.training.evaluate import forecasts_with_outcomes

    rows = forecasts_with_outcomes(forecaster, prices, start)
    inside = (rows["actual_close"] >= rows["lower"]) & (rows["actual_close"] <= rows["upper"])
    return float(inside.mean())


def test_a_too_narrow_interval_is_widened_by_the_evidence_of_the_held_out_rows() -> None:
    prices = synthetic_prices(days=1400, autocorrelation=0.0, seed=3)
    dates = pd.to_datetime(prices["date"])
    held_out, scored = dt.date(2016, 1, 4), dt.date(2019, 1, 2)
    narrow = PersistenceForecaster().fit(prices[dates < pd.Timestamp(held_out)])
    narrow.z_scores = narrow.z_scores / 2
    before = _coverage(narrow, prices, scored)
    calibrate(narrow, prices[dates < pd.Timestamp(scored)], held_out)
    after = _coverage(narrow, prices, scored)
    assert before < 0.6
    assert after > before + 0.2
    assert narrow.calibration is not None
    # Three years of next-day rows: the raw factor of about 2, shrunk by 100 / (n + 100).
    days = narrow.calibration.rows[POOLED] / 2
    expected = 2.0 ** (days / (days + PRIOR_ROWS))
    assert narrow.calibration.factors[POOLED][0][0] == pytest.approx(expected, rel=0.1)


def test_shrinkage_goes_half_way_in_log_terms_at_the_prior_rows() -> None:
    assert shrunk_factors([4.0, 1.0, 0.25], PRIOR_ROWS) == pytest.approx([2.0, 1.0, 0.5])
    assert shrunk_factors([4.0, 0.25], 0) == [1.0, 1.0]
    assert shrunk_factors([4.0], 1e12) == [pytest.approx(4.0)]
    assert shrunk_factors([4.0], 3 * PRIOR_ROWS) == [pytest.approx(4.0**0.75)]


def test_a_fraction_of_a_row_still_moves_the_factor() -> None:
    # One 5-day outcome is a fifth of a row: share 0.2 / (0.2 + PRIOR_ROWS).
    assert shrunk_factors([4.0], 0.2) == [pytest.approx(4.0 ** (0.2 / (0.2 + PRIOR_ROWS)))]
    assert shrunk_factors([4.0], 1.0)[0] > 1.0


# Levels 10/50/90% around a median close of 100 (not 0, so that a sign slip between
# outcome, median and quantile shows): the lower quantile 3 below, the upper 2 above.
LEVELS = (0.1, 0.5, 0.9)
BAND = np.array([97.0, 100.0, 102.0])


def test_each_factor_is_the_score_a_tails_share_of_outcomes_exceeds() -> None:
    # Outcomes 100 + d for d = -9..9. Upper scores d / 2, lower scores d / -3; the
    # Weibull 90% point of 19 sorted values is the 18th: 8 / 2 and 8 / 3.
    outcomes = 100.0 + np.arange(-9.0, 10.0)
    quantiles = np.tile(BAND, (19, 1))
    factors = level_factors(outcomes, quantiles, LEVELS, 1)
    assert factors == [pytest.approx(8 / 3), 1.0, pytest.approx(4.0)]


def test_a_quantile_on_the_median_carries_no_evidence() -> None:
    outcomes = np.r_[100.0 + np.arange(-9.0, 10.0), 150.0]
    quantiles = np.vstack([np.tile(BAND, (19, 1)), [100.0, 100.0, 100.0]])
    factors = level_factors(outcomes, quantiles, LEVELS, 1)
    assert factors == [pytest.approx(8 / 3), 1.0, pytest.approx(4.0)]


def test_a_level_without_evidence_keeps_its_band_and_the_next_level_is_still_fitted() -> None:
    # The lower quantile sits on the median in every row; the upper's scores 0.5, 1.5, 2.
    quantiles = np.tile([100.0, 100.0, 102.0], (3, 1))
    outcomes = np.array([101.0, 103.0, 104.0])
    assert level_factors(outcomes, quantiles, LEVELS, 1) == [1.0, 1.0, pytest.approx(2.0)]


def test_a_single_held_out_row_sets_the_factor_by_its_own_score() -> None:
    # 106 is 3 upper distances (2) above the median, and on the wrong side of the lower.
    factors = level_factors(np.array([106.0]), np.array([BAND]), LEVELS, 1)
    assert factors == [1.0, 1.0, pytest.approx(3.0)]


def test_an_outcome_inside_the_band_narrows_it_and_none_beyond_the_median_keeps_it() -> None:
    # 101 is half an upper distance above the median: the upper band halves. On the
    # median itself the score is 0, which would collapse the band: it is kept instead.
    assert level_factors(np.array([101.0]), np.array([BAND]), LEVELS, 1) == [
        1.0,
        1.0,
        pytest.approx(0.5),
    ]
    assert level_factors(np.array([100.0]), np.array([BAND]), LEVELS, 1) == [1.0, 1.0, 1.0]


def test_a_calibration_stretches_each_quantile_from_its_own_median() -> None:
    calibration = IntervalCalibration(
        quantiles=LEVELS, factors={POOLED: [[2.0, 1.0, 0.5]], "AAA": [[1.0, 1.0, 3.0]]}
    )
    # Log-return quantiles -0.02 / 0.01 / 0.03: distances -0.03 and +0.02 from the median.
    quantiles = np.array([[[-0.02, 0.01, 0.03]], [[-0.02, 0.01, 0.03]]])
    served = calibration.apply(np.array(["ZZZ", "AAA"]), quantiles, 1)
    np.testing.assert_allclose(served[0, 0], [0.01 - 0.06, 0.01, 0.01 + 0.01])
    np.testing.assert_allclose(served[1, 0], [-0.02, 0.01, 0.01 + 0.06])


def test_a_symbol_the_calibration_saw_uses_its_own_factors() -> None:
    calibration = IntervalCalibration(
        quantiles=LEVELS, factors={POOLED: [[0.5, 1.0, 1.5]], "AAA": [[2.0, 1.0, 3.0]]}
    )
    factors = calibration.factors_for(np.array(["AAA", "ZZZ"]))
    np.testing.assert_array_equal(factors, [[[2.0, 1.0, 3.0]], [[0.5, 1.0, 1.5]]])


class _FixedBand(Forecaster):
    """Log-return quantiles -1% / 0 / +1% at every horizon."""

    horizons = (1, 5)
    history = 1

    @property
    def min_history(self) -> int:
        return self.history

    def horizon_quantiles(self, features: pd.DataFrame, rows: np.ndarray, horizon: int):
        return np.tile([-0.01, 0.0, 0.01], (len(rows), 1))


def test_an_h_day_outcome_counts_one_hth_of_a_row_and_the_pool_counts_days() -> None:
    from market_predictor.features import build_features, target_column

    prices = synthetic_prices(days=400, autocorrelation=0.0, seed=5)
    start = dt.date(2015, 9, 1)
    calibration = fit_calibration(_FixedBand(), prices, start)
    assert calibration is not None
    features = build_features(prices, (1, 5))
    after = (pd.to_datetime(features["date"]) >= pd.Timestamp(start)).to_numpy()
    for k, horizon in enumerate((1, 5)):
        target = features[target_column(horizon)].to_numpy()
        known = after & np.isfinite(target)
        for symbol in ("AAA", "BBB", POOLED):
            mine = known & ((features["symbol"] == symbol).to_numpy() | (symbol == POOLED))
            raw = np.quantile(target[mine] / 0.01, 0.9, method="weibull")
            rows = features.loc[mine, "date"].nunique() if symbol == POOLED else mine.sum()
            share = rows / horizon / (rows / horizon + PRIOR_ROWS)
            upper = calibration.factors[symbol][k][2]
            assert upper == pytest.approx(raw**share, rel=1e-9), (symbol, horizon)


def test_calibration_never_sees_the_rows_it_is_judged_on() -> None:
    prices = garch_prices(days=800)
    dates = pd.to_datetime(prices["date"])
    held_out, scored = dt.date(2017, 6, 1), dt.date(2017, 12, 1)
    known = prices[dates < pd.Timestamp(scored)]
    # Wildly different outcomes in the scored window must not move the calibration.
    shocked = prices.copy()
    after = pd.to_datetime(shocked["date"]) >= pd.Timestamp(scored)
    shocked.loc[after, ["open", "high", "low", "close"]] *= 3.0
    for kind in ("persistence", "garch"):
        fitted = fit_baseline(kind, known, (0.1, 0.5, 0.9), held_out)
        assert fitted.calibration is not None
        assert fitted.calibration.end is not None
        assert dt.date.fromisoformat(fitted.calibration.end) < scored
        assert dt.date.fromisoformat(fitted.calibration.start) == held_out
        again = fit_baseline(kind, shocked[dates < pd.Timestamp(scored)], (0.1, 0.5, 0.9), held_out)
        assert again.calibration.factors == fitted.calibration.factors


def test_a_symbol_the_calibration_never_saw_uses_the_pooled_factors() -> None:
    prices = garch_prices(days=800)
    dates = pd.to_datetime(prices["date"])
    held_out = (dates.max() - pd.tseries.offsets.BDay(2 * PRIOR_ROWS)).date()
    fitted = fit_baseline("persistence", prices, (0.1, 0.5, 0.9), held_out)
    assert set(fitted.calibration.factors) == {POOLED, "GGG", "HHH"}
    np.testing.assert_array_equal(
        fitted.calibration.factors_for(np.array(["GGG", "ZZZ"]))[1],
        fitted.calibration.factors[POOLED],
    )


def test_the_calibration_records_the_forecasters_levels_and_horizons() -> None:
    prices = synthetic_prices(days=60, autocorrelation=0.0, seed=5)
    calibration = fit_calibration(_FixedBand(), prices, dt.date(2000, 1, 1))
    assert calibration is not None
    assert calibration.quantiles == (0.1, 0.5, 0.9)
    assert calibration.horizons == (1, 5)


def test_the_first_held_out_forecast_is_the_one_with_min_history_rows_behind_it() -> None:
    prices = synthetic_prices(days=10, autocorrelation=0.0, seed=5)
    forecaster = _FixedBand()
    forecaster.history = 3
    calibration = fit_calibration(forecaster, prices, dt.date(2000, 1, 1))
    assert calibration is not None
    # 10 days a symbol: forecasts from the 3rd day on (8), less the last (no next close).
    assert calibration.rows == {POOLED: 14, "AAA": 7, "BBB": 7}


def test_a_held_out_window_without_an_outcome_gives_no_calibration() -> None:
    prices = synthetic_prices(days=60, autocorrelation=0.0, seed=5)
    last = pd.to_datetime(prices["date"]).max().date()
    # From the last day on there are forecasts, but none has its next close yet.
    assert fit_calibration(_FixedBand(), prices, last) is None
    assert calibrate(_FixedBand(), prices, last).calibration is None

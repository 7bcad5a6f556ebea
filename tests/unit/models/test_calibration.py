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
    calibrate,
    fit_calibration,
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


class _FixedBand(Forecaster):
    """Log-return quantiles -1% / 0 / +1% at every horizon."""

    horizons = (1, 5)

    @property
    def min_history(self) -> int:
        return 1

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

"""Interval recalibration: fitted on held-out rows only, it restores the nominal coverage."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.models.calibration import MIN_CALIBRATION_ROWS, POOLED, calibrate
from market_predictor.training.fit import fit_baseline
from tests.fixtures.ml import garch_prices, synthetic_prices


def _coverage(forecaster, prices: pd.DataFrame, start: dt.date) -> float:
    from market_predictor.training.evaluate import forecasts_with_outcomes

    rows = forecasts_with_outcomes(forecaster, prices, start)
    inside = (rows["actual_close"] >= rows["lower"]) & (rows["actual_close"] <= rows["upper"])
    return float(inside.mean())


def test_a_too_narrow_interval_is_widened_to_nominal_coverage() -> None:
    prices = synthetic_prices(days=1400, autocorrelation=0.0, seed=3)
    dates = pd.to_datetime(prices["date"])
    held_out, scored = dt.date(2018, 1, 2), dt.date(2018, 9, 3)
    narrow = PersistenceForecaster().fit(prices[dates < pd.Timestamp(held_out)])
    narrow.z_scores = narrow.z_scores / 2
    before = _coverage(narrow, prices, scored)
    calibrate(narrow, prices[dates < pd.Timestamp(scored)], held_out)
    after = _coverage(narrow, prices, scored)
    assert before < 0.6
    assert 0.76 <= after <= 0.84
    assert narrow.calibration is not None
    assert narrow.calibration.factors[POOLED][0][0] == pytest.approx(2.0, rel=0.25)  # h=1, 10%


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


def test_a_symbol_with_few_held_out_rows_uses_the_pooled_factors() -> None:
    prices = garch_prices(days=800)
    dates = pd.to_datetime(prices["date"])
    end = dates.max()
    few = end - pd.tseries.offsets.BDay(MIN_CALIBRATION_ROWS // 2)
    fitted = fit_baseline("persistence", prices, (0.1, 0.5, 0.9), few.date())
    assert set(fitted.calibration.factors) == {POOLED}
    many = end - pd.tseries.offsets.BDay(2 * MIN_CALIBRATION_ROWS)
    fitted = fit_baseline("persistence", prices, (0.1, 0.5, 0.9), many.date())
    assert set(fitted.calibration.factors) == {POOLED, "GGG", "HHH"}
    np.testing.assert_array_equal(
        fitted.calibration.factors_for(np.array(["GGG", "ZZZ"]))[1],
        fitted.calibration.factors[POOLED],
    )

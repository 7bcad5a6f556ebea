"""The combined candidate: the average of its components' served quantiles (each sorted
and calibrated first) per horizon and level, and the rule that picks its rival."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from market_predictor.features import build_features
from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.models.calibration import POOLED, IntervalCalibration
from market_predictor.models.combined import CombinedForecaster, best_partner
from market_predictor.models.garch import GarchForecaster
from market_predictor.models.har import HarForecaster
from tests.fixtures.ml import synthetic_prices

LEVELS = (0.1, 0.5, 0.9)
HORIZONS = (1, 5)
Z_CALIBRATED = [[-1.2, 0.0, 1.0], [-1.5, 0.0, 1.4]]
FACTORS = [[2.0, 1.0, 0.5], [1.5, 1.0, 3.0]]  # AAA's own, per horizon
# Crossed (lower above upper): what it serves is sorted first.
Z_CROSSED = [[0.4, 0.0, -0.8], [0.9, 0.1, -0.3]]


def _components() -> dict[str, PersistenceForecaster]:
    calibrated = PersistenceForecaster(LEVELS, z_scores=Z_CALIBRATED, horizons=HORIZONS)
    calibrated.calibration = IntervalCalibration(
        quantiles=LEVELS,
        factors={"AAA": FACTORS, POOLED: [[1.0, 1.0, 1.0]] * 2},
        horizons=HORIZONS,
    )
    crossed = PersistenceForecaster(LEVELS, z_scores=Z_CROSSED, horizons=HORIZONS)
    return {"calibrated": calibrated, "crossed": crossed}


def test_the_combination_is_the_average_of_each_components_served_quantiles() -> None:
    prices = synthetic_prices(days=120)
    combined = CombinedForecaster(_components())
    forecasts = combined.predict_range(prices)
    features = build_features(prices)
    volatility = dict(
        zip(
            zip(features["symbol"], pd.to_datetime(features["date"]), strict=True),
            features["volatility_21"],
            strict=True,
        )
    )
    assert set(forecasts["horizon"]) == set(HORIZONS)
    for row in forecasts.itertuples():
        k = HORIZONS.index(row.horizon)
        scale = volatility[(row.symbol, row.as_of_date)] * math.sqrt(row.horizon)
        factors = FACTORS[k] if row.symbol == "AAA" else [1.0, 1.0, 1.0]
        calibrated = np.sort(scale * np.asarray(Z_CALIBRATED[k]) * np.asarray(factors))
        crossed = np.sort(scale * np.asarray(Z_CROSSED[k]))
        expected = (calibrated + crossed) / 2
        assert row.lower == pytest.approx(row.last_close * math.exp(expected[0]), rel=1e-12)
        assert row.predicted_return == pytest.approx(expected[1], abs=1e-15)
        assert row.upper == pytest.approx(row.last_close * math.exp(expected[2]), rel=1e-12)
        assert row.lower <= row.predicted_close <= row.upper


def test_a_combination_forecasts_only_rows_every_component_can() -> None:
    prices = synthetic_prices(days=200)
    har = HarForecaster(LEVELS).fit(prices)
    garch = GarchForecaster(LEVELS).fit(prices)
    persistence = PersistenceForecaster(LEVELS)
    combined = CombinedForecaster({"har": har, "persistence": persistence})
    assert combined.min_history == har.min_history > persistence.min_history
    first = combined.predict_range(prices).groupby("symbol")["as_of_date"].min()
    assert (first == har.predict_range(prices).groupby("symbol")["as_of_date"].min()).all()
    # The daily job reads what the component needing most history needs.
    with_garch = CombinedForecaster({"garch": garch, "har": har})
    assert with_garch.read_rows == garch.read_rows > har.read_rows
    assert with_garch.min_history == har.min_history > garch.min_history


def test_components_of_different_levels_or_horizons_cannot_be_combined() -> None:
    with pytest.raises(ValueError, match=r"levels \(0\.05, 0\.5, 0\.95\)"):
        CombinedForecaster(
            {"a": PersistenceForecaster(LEVELS), "b": PersistenceForecaster((0.05, 0.5, 0.95))}
        )
    with pytest.raises(ValueError, match=r"horizons \(1, 5\)"):
        CombinedForecaster(
            {"a": PersistenceForecaster(LEVELS), "b": PersistenceForecaster(horizons=(1, 5))}
        )
    with pytest.raises(ValueError, match="two components"):
        CombinedForecaster({"a": PersistenceForecaster(LEVELS)})


def test_the_partner_is_the_rival_with_the_lowest_score() -> None:
    scores = {"model": 0.5, "persistence": 1.0, "garch": 0.93, "egarch": 0.91, "har": 0.95}
    order = ["persistence", "garch", "egarch", "har"]
    assert best_partner(scores, "model", order) == "egarch"
    assert best_partner({**scores, "har": math.nextafter(0.91, 0.0)}, "model", order) == "har"


def test_a_tie_goes_to_the_first_rival_in_the_gates_order() -> None:
    scores = {"model": 0.5, "persistence": 1.0, "garch": 0.9, "egarch": 0.9}
    assert best_partner(scores, "model", ["persistence", "garch", "egarch"]) == "garch"
    assert best_partner(scores, "model", ["persistence", "egarch", "garch"]) == "egarch"


def test_the_lead_and_unscored_rivals_are_never_partners() -> None:
    scores = {"model": 0.1, "persistence": 1.0, "garch": float("nan")}
    assert best_partner(scores, "model", ["model", "persistence", "garch", "har"]) == (
        "persistence"
    )
    with pytest.raises(ValueError, match="no rival"):
        best_partner({"model": 0.1, "garch": float("nan")}, "model", ["garch", "har"])

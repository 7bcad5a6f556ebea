"""The per-symbol volatility rivals by kind: what a saved model's `kind` loads as, and the
list a gate compares every network with."""

from __future__ import annotations

from market_predictor.models.egarch import EgarchForecaster
from market_predictor.models.garch import GarchForecaster, GjrGarchForecaster
from market_predictor.models.har import HarForecaster
from market_predictor.models.volatility import VolatilityForecaster

VOLATILITY_FORECASTERS: dict[str, type[VolatilityForecaster]] = {
    forecaster.model_type.kind: forecaster
    for forecaster in (GarchForecaster, GjrGarchForecaster, EgarchForecaster, HarForecaster)
}

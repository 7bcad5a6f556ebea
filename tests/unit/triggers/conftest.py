from __future__ import annotations

import numpy as np
import pytest

from market_predictor.features import build_features
from market_predictor.triggers.reference import DriftReference, build_reference
from tests.unit.triggers.data import bars, garch_returns


@pytest.fixture(scope="module")
def history() -> np.ndarray:
    return garch_returns(2500, seed=5)


@pytest.fixture(scope="module")
def reference(history: np.ndarray) -> DriftReference:
    """The reference of a GARCH series' first 800 days (one symbol, AAA)."""
    built = build_reference(build_features(bars(history[:800], "AAA")))
    assert built is not None
    return built

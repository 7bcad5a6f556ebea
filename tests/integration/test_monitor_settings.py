"""monitor() honours the settings it reads: the model name (whose predictions it
scores) and the family-wise trigger level (tests/unit/test_monitoring.py)."""

from __future__ import annotations

import datetime as dt

from market_predictor.config import Settings
from market_predictor.monitoring import monitor
from market_predictor.pipeline import replay


def test_monitor_reads_only_the_predictions_of_the_configured_model(ops_home: Settings) -> None:
    replay(ops_home, start=dt.date(2012, 12, 3), end=dt.date(2012, 12, 4), retrain=False)
    other = ops_home.model_copy(update={"model_name": "another-model"})
    result = monitor(other, as_of=dt.date(2012, 12, 4))
    assert result.model_name == "another-model"
    assert result.symbols == {}
    assert result.message == "no predictions of another-model on or before 2012-12-04"
    served = monitor(ops_home, as_of=dt.date(2012, 12, 4))
    assert served.model_name == ops_home.model_name and len(served.symbols) == 2

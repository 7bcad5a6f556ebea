"""The online interval scale in the daily job (interval_scales.py) on a real store: monitor
re-run on a day leaves the scales table as it was, the state of a day holds only errors
whose target is on or before it, a new champion version starts from scale 1 (log 0) with
nothing carried over, and predict serves the model's interval scaled by the state of the
day before. (A replay equals day-by-day arrival for the scales and the served intervals:
tests/integration/test_replay.py.)"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from market_predictor.config import Settings
from market_predictor.online_calibration import OnlineRule, scale_interval, state_from_errors
from market_predictor.pipeline import replay
from market_predictor.registry import load_champion, register_baseline
from market_predictor.store import FeatureStore
from tests.fixtures.ops import monitor_as_of

D = dt.date
FIRST, MIDDLE, LAST = D(2012, 12, 3), D(2012, 12, 6), D(2012, 12, 12)
STATE = ["log_scale_lower", "log_scale_upper", "n_updates"]


def _scales(settings: Settings) -> pd.DataFrame:
    return (
        FeatureStore.from_settings(settings)
        .scales.read_rows()
        .sort_values(["model_version", "date", "symbol", "horizon"], ignore_index=True)
    )


def _expected_state(settings: Settings, version: str, day: dt.date) -> pd.DataFrame:
    """The rule run on the version's stored errors whose target is on or before `day`."""
    errors = FeatureStore.from_settings(settings).errors.read()
    errors = errors[errors["model_version"] == version]
    known = errors[pd.to_datetime(errors["target_date"]) <= pd.Timestamp(day)]
    rule = OnlineRule.for_quantiles((0.1, 0.5, 0.9), settings.online_eta)
    return state_from_errors(known, rule).set_index(["symbol", "horizon"])[STATE]


def _state_on(scales: pd.DataFrame, version: str, day: dt.date) -> pd.DataFrame:
    rows = scales[(scales["model_version"] == version) & (scales["date"] == pd.Timestamp(day))]
    return rows.set_index(["symbol", "horizon"])[STATE]


def test_rerunning_monitor_on_an_earlier_day_uses_no_later_error_and_changes_no_row(
    ops_home: Settings,
) -> None:
    replay(ops_home, start=FIRST, end=LAST, retrain=False)
    before = _scales(ops_home)
    errors = FeatureStore.from_settings(ops_home).errors.read()
    # The store now holds errors targeted after MIDDLE, which its state must not see.
    assert (pd.to_datetime(errors["target_date"]) > pd.Timestamp(MIDDLE)).any()
    stored = _state_on(before, "1", MIDDLE)
    pd.testing.assert_frame_equal(
        stored, _expected_state(ops_home, "1", MIDDLE), check_dtype=False, check_exact=False
    )
    assert not stored.equals(_expected_state(ops_home, "1", LAST))
    assert (stored["n_updates"] == 3).all()  # 3, 4, 5 December: the targets by the 6th

    monitor_as_of(ops_home, as_of=MIDDLE)
    pd.testing.assert_frame_equal(_scales(ops_home), before)


def test_a_new_champion_version_starts_from_scale_one_with_nothing_carried_over(
    ops_home: Settings,
) -> None:
    replay(ops_home, start=FIRST, end=MIDDLE, retrain=False)
    first = _state_on(_scales(ops_home), "1", MIDDLE)
    assert (first["log_scale_lower"] != 0).all() and (first["n_updates"] > 0).all()

    version = register_baseline(ops_home, trained_until=MIDDLE)
    assert load_champion(ops_home).version == version == "2"
    following = D(2012, 12, 7)
    replay(ops_home, start=following, end=LAST, retrain=False)
    scales = _scales(ops_home)
    start = _state_on(scales, version, following)
    assert (start[["log_scale_lower", "log_scale_upper"]] == 0).all().all()
    assert (start["n_updates"] == 0).all()
    # Later states hold the new version's own errors only.
    pd.testing.assert_frame_equal(
        _state_on(scales, version, LAST),
        _expected_state(ops_home, version, LAST),
        check_dtype=False,
        check_exact=False,
    )
    assert (_state_on(scales, version, LAST)["n_updates"] == 3).all()  # 10, 11, 12 December


def test_a_days_forecast_is_served_with_the_state_of_the_day_before(
    ops_home: Settings,
) -> None:
    replay(ops_home, start=FIRST, end=MIDDLE, retrain=False)
    store = FeatureStore.from_settings(ops_home)
    served = store.predictions.read()
    served = served[served["as_of_date"] == pd.Timestamp(MIDDLE)].sort_values("symbol")
    raw = load_champion(ops_home).predict(store.prices().read(end=MIDDLE)).sort_values("symbol")
    # Monitor of the 5th wrote the state the 6th's predict serves with (not the 6th's own,
    # which its monitor writes after the forecast is made).
    state = _state_on(_scales(ops_home), "1", D(2012, 12, 5)).reset_index()
    expected = scale_interval(raw, state)
    for column in ("lower", "upper"):
        # Stored prices carry 6 decimals.
        np.testing.assert_allclose(served[column], expected[column], rtol=0, atol=5e-7)
        # The state moved the interval: what serves is not the model's own.
        assert not np.allclose(served[column], raw[column], rtol=1e-6)

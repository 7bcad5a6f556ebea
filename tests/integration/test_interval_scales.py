"""The online interval scale through the daily job: monitor stores the rule applied to
the served errors known by its day, predict serves the newest state dated before its
as-of day, a re-run changes nothing, and a new model version starts at scale 1."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.ingest import ingest_prices
from market_predictor.online_calibration import OnlineRule, scale_interval, state_from_errors
from market_predictor.pipeline import replay
from market_predictor.registry import load_champion, register_baseline
from market_predictor.store import FeatureStore
from market_predictor.store.scales import SCALE_DECIMALS
from tests.fixtures.ops import OPS_SYMBOLS, monitor_as_of

D = dt.date
FIRST, LAST = D(2012, 12, 3), D(2013, 1, 15)


@pytest.fixture(scope="module")
def replayed_template(ops_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six weeks of the daily job on the persistence champion, retraining off (once)."""
    home = tmp_path_factory.mktemp("interval-scales") / "home"
    shutil.copytree(ops_template, home)
    settings = Settings(home=home, source="sample", symbols=list(OPS_SYMBOLS))
    ingest_prices(settings, as_of=LAST)
    replay(settings, start=FIRST, end=LAST, retrain=False)
    return home


@pytest.fixture
def replayed(ops_settings: Settings, replayed_template: Path) -> Settings:
    shutil.copytree(replayed_template, ops_settings.resolved_home)
    return ops_settings


def _rule(settings: Settings) -> OnlineRule:
    quantiles = load_champion(settings).forecaster.quantiles
    return OnlineRule.for_quantiles(quantiles, settings.online_eta)


def test_each_days_stored_scale_is_the_rule_over_the_errors_known_that_day(
    replayed: Settings,
) -> None:
    store = FeatureStore.from_settings(replayed)
    errors, scales = store.errors.read(), store.scales.read()
    days = sorted(pd.to_datetime(scales["date"]).dt.date.unique())
    assert len(days) >= 25
    moved = False
    for day in days:
        known = errors[pd.to_datetime(errors["target_date"]).dt.date <= day]
        stored = scales[pd.to_datetime(scales["date"]).dt.date == day].set_index(
            ["symbol", "horizon"]
        )
        expected = state_from_errors(known, _rule(replayed)).set_index(["symbol", "horizon"])
        # A symbol without a realised error yet holds the starting state.
        expected = expected.reindex(stored.index).astype("float64").fillna(0.0)
        # Never an error whose close came after the day.
        assert (stored["n_updates"] == expected["n_updates"]).all()
        for column in ("log_scale_lower", "log_scale_upper"):
            np.testing.assert_allclose(stored[column], expected[column], atol=10**-SCALE_DECIMALS)
        moved |= bool((stored["log_scale_lower"] != 0).any())
    assert moved  # six weeks of errors move the scale


def test_predict_serves_the_static_interval_scaled_by_the_previous_days_state(
    replayed: Settings,
) -> None:
    store = FeatureStore.from_settings(replayed)
    champion = load_champion(replayed)
    predictions, scales = store.predictions.read(), store.scales.read()
    as_of = D(2013, 1, 15)
    previous = scales[pd.to_datetime(scales["date"]).dt.date == D(2013, 1, 14)]
    static = champion.predict(store.prices().read(end=as_of))
    expected = scale_interval(static, previous).sort_values("symbol", ignore_index=True)
    served = predictions[pd.to_datetime(predictions["as_of_date"]).dt.date == as_of]
    served = served.sort_values("symbol", ignore_index=True)
    # Stored to 6 decimals.
    np.testing.assert_allclose(served["lower"], expected["lower"], rtol=1e-7)
    np.testing.assert_allclose(served["upper"], expected["upper"], rtol=1e-7)
    # The scale acts: the served interval is not the static one.
    assert not np.allclose(served["lower"], static.sort_values("symbol")["lower"], rtol=1e-4)


def test_a_monitor_rerun_writes_no_new_scales(replayed: Settings) -> None:
    table = FeatureStore.from_settings(replayed).scales
    before = table.version()
    monitor_as_of(replayed, as_of=LAST)
    assert table.version() == before


def test_a_new_champion_version_starts_at_scale_one(replayed: Settings) -> None:
    register_baseline(replayed, trained_until=LAST)
    champion = load_champion(replayed)
    nxt = D(2013, 1, 16)
    ingest_prices(replayed, as_of=nxt)
    replay(replayed, start=nxt, end=nxt, retrain=False)
    store = FeatureStore.from_settings(replayed)
    served = store.predictions.read()
    served = served[
        (pd.to_datetime(served["as_of_date"]).dt.date == nxt)
        & (served["model_version"].astype(str) == str(champion.version))
    ].sort_values("symbol", ignore_index=True)
    static = champion.predict(store.prices().read(end=nxt)).sort_values("symbol", ignore_index=True)
    assert len(served) == len(static) > 0
    np.testing.assert_allclose(served["lower"], static["lower"], rtol=1e-7)  # stored to 6 dp
    mine = store.scales.read()
    mine = mine[mine["model_version"].astype(str) == str(champion.version)]
    assert (mine["n_updates"] == 0).all()
    assert (mine[["log_scale_lower", "log_scale_upper"]] == 0).all().all()

"""Per-symbol rival fits made in batches and stored (what the DAG's mapped fit_rivals
tasks do) against the fits training makes in its own process, on a real store."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor.config import Settings, get_settings
from market_predictor.models.rivals import VOLATILITY_FORECASTERS
from market_predictor.store import FeatureStore
from market_predictor.training import train
from market_predictor.training.rival_fits import fit_batch, plan_batches, stored_fits
from tests.fixtures.ml import FAST_TRAINING, sample_prices, store_prices

SYMBOLS = ["AAPL", "GOOG", "MSFT"]
END = dt.date(2012, 12, 31)


@pytest.fixture
def fitted_home(mlflow_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Three symbols from mid-2009 (a year and more of returns before the held-out
    months, so each fits on its own); rivals of both kinds of interval (standardised
    returns or Student t) and a range-based one; two horizons."""
    monkeypatch.setenv("MPP_RIVALS", "persistence,garch,gjr_garch,har")
    monkeypatch.setenv("MPP_HORIZONS", "1,5")
    get_settings.cache_clear()
    settings = get_settings()
    store_prices(settings, sample_prices(SYMBOLS, start="2009-06-01"))
    return settings


def _fitting_rows(settings: Settings, version: int, before: dt.date) -> pd.DataFrame:
    _, rows = FeatureStore.from_settings(settings).datasets.read(version)
    return rows[pd.to_datetime(rows["date"]) < pd.Timestamp(before)]


def test_fits_made_in_batches_give_the_forecasters_fitted_in_one_process(
    fitted_home: Settings,
) -> None:
    batches = plan_batches(fitted_home, symbols=SYMBOLS, end=END, batch_size=2)
    assert [b.symbols for b in batches] == [["AAPL", "GOOG"], ["MSFT"]]
    for batch in batches:
        assert fit_batch(fitted_home, batch) == 2 * len(batch.symbols) + len(batch.symbols)

    version, before = batches[0].dataset_version, batches[0].fitted_before
    stored = stored_fits(fitted_home, version, before)
    assert sorted(stored) == ["garch", "gjr_garch", "har"]
    fitting = _fitting_rows(fitted_home, version, before)
    for kind, fits in stored.items():
        assert sorted(fits) == SYMBOLS
        rival = VOLATILITY_FORECASTERS[kind]
        joined = rival(horizons=(1, 5)).fit(fitting, symbol_fits=fits)
        alone = rival(horizons=(1, 5)).fit(fitting)
        assert joined.to_params() == alone.to_params(), kind


def test_a_rerun_batch_replaces_its_fits_and_a_new_plan_drops_the_old_ones(
    fitted_home: Settings,
) -> None:
    table = FeatureStore.from_settings(fitted_home).rival_fits
    first = plan_batches(fitted_home, symbols=SYMBOLS, end=END, batch_size=3)[0]
    fit_batch(fitted_home, first)
    rows = table.read()
    fit_batch(fitted_home, first)
    assert len(table.read()) == len(rows) == 3 * len(SYMBOLS)

    later = plan_batches(fitted_home, symbols=SYMBOLS[:2], end=END, batch_size=3)[0]
    assert later.dataset_version != first.dataset_version
    assert table.read().empty  # the earlier retrain's fits are gone
    fit_batch(fitted_home, later)
    assert set(table.read()["dataset_version"]) == {later.dataset_version}


def test_training_on_stored_fits_refuses_fits_missing_a_batch_rather_than_drop_a_rival(
    fitted_home: Settings,
) -> None:
    batches = plan_batches(fitted_home, symbols=SYMBOLS, end=END, batch_size=2)
    fit_batch(fitted_home, batches[0])  # MSFT's batch never ran

    with pytest.raises(LookupError, match="the given fits are not of these symbols"):
        train(
            fitted_home,
            dataset_version=batches[0].dataset_version,
            stored_rival_fits=True,
            config_overrides=FAST_TRAINING,
        )

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.errors import InputError, NotFoundError
from market_predictor.ingest import ingest_prices
from market_predictor.store import FeatureStore
from tests.fixtures.ops import HISTORY_START, TRAINED_UNTIL, predict_as_of

D = dt.date


def _predictions(settings: Settings) -> pd.DataFrame:
    return FeatureStore.from_settings(settings).predictions.read()


def test_friday_close_predicts_monday_for_every_symbol_in_one_write(ops_home: Settings) -> None:
    summary = predict_as_of(ops_home, as_of=TRAINED_UNTIL)
    assert summary.target_date == D(2012, 12, 3)
    rows = _predictions(ops_home)
    assert sorted(rows["symbol"]) == ["AAPL", "MSFT"]
    assert set(rows["target_date"]) == {pd.Timestamp("2012-12-03")}
    assert (rows["lower"] < rows["predicted_close"]).all()
    assert (rows["predicted_close"] < rows["upper"]).all()
    history = FeatureStore.from_settings(ops_home).predictions.history()
    assert len(history) == 1  # one transaction for all symbols


def test_default_as_of_is_the_latest_stored_close(ops_home: Settings) -> None:
    assert predict_as_of(ops_home).as_of == TRAINED_UNTIL


def test_predicting_the_same_day_twice_changes_no_row(ops_home: Settings) -> None:
    predict_as_of(ops_home, as_of=TRAINED_UNTIL)
    first = _predictions(ops_home)
    again = predict_as_of(ops_home, as_of=TRAINED_UNTIL)
    assert (again.inserted, again.updated) == (0, 0)
    pd.testing.assert_frame_equal(first, _predictions(ops_home))


def test_holiday_eve_targets_the_day_after_the_holiday(ops_home: Settings) -> None:
    ingest_prices(ops_home, start=D(2012, 12, 3), as_of=D(2012, 12, 24))
    assert predict_as_of(ops_home, as_of=D(2012, 12, 24)).target_date == D(2012, 12, 26)


def test_rows_after_the_as_of_date_are_never_read(ops_home: Settings) -> None:
    before = predict_as_of(ops_home, as_of=TRAINED_UNTIL).predictions
    # Later prices arrive; re-predicting the same as-of date must give the same forecast.
    ingest_prices(ops_home, start=D(2012, 12, 3), as_of=D(2012, 12, 31))
    store = FeatureStore.from_settings(ops_home)
    store.predictions.replace_where(store.predictions.read().iloc[0:0], "true")
    after = predict_as_of(ops_home, as_of=TRAINED_UNTIL).predictions
    assert after == before
    closes = store.prices().read(start=TRAINED_UNTIL, end=TRAINED_UNTIL).set_index("symbol")
    for row in after:
        assert row.last_close == pytest.approx(closes.loc[row.symbol, "close"])


def test_stale_symbol_is_skipped_with_its_reason(ops_home: Settings) -> None:
    # AAPL gets December's prices, MSFT does not: as of 14 December MSFT is 10 days old.
    ingest_prices(ops_home, symbols=["AAPL"], start=D(2012, 12, 3), as_of=D(2012, 12, 14))
    summary = predict_as_of(ops_home, as_of=D(2012, 12, 14))
    assert [row.symbol for row in summary.predictions] == ["AAPL"]
    assert summary.skipped["MSFT"].startswith("stale: last price 2012-11-30 is 10 trading days")


def test_symbol_with_too_little_history_is_skipped(ops_home: Settings) -> None:
    ingest_prices(ops_home, symbols=["IBM"], start=D(2012, 11, 19), as_of=TRAINED_UNTIL)
    summary = predict_as_of(ops_home, as_of=TRAINED_UNTIL, symbols=["AAPL", "IBM"])
    assert [row.symbol for row in summary.predictions] == ["AAPL"]
    assert summary.skipped["IBM"].startswith("too little history: 9 rows")


def test_future_as_of_date_is_an_input_error(ops_home: Settings) -> None:
    with pytest.raises(InputError, match="in the future"):
        predict_as_of(ops_home, as_of=dt.date.today() + dt.timedelta(days=3))
    assert not FeatureStore.from_settings(ops_home).predictions.exists()


def test_as_of_date_before_any_data_is_an_input_error(ops_home: Settings) -> None:
    with pytest.raises(InputError, match="before any stored prices"):
        predict_as_of(ops_home, as_of=HISTORY_START - dt.timedelta(days=30))
    assert not FeatureStore.from_settings(ops_home).predictions.exists()


def test_symbol_never_ingested_is_an_input_error(ops_home: Settings) -> None:
    with pytest.raises(InputError, match="no prices stored for ZZZZ"):
        predict_as_of(ops_home, symbols=["ZZZZ"])


def test_missing_champion_says_to_run_mpp_train(ops_prices: Settings) -> None:
    with pytest.raises(NotFoundError, match="mpp train"):
        predict_as_of(ops_prices, as_of=TRAINED_UNTIL)

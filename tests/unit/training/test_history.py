"""One loader for train, backtest and tune: the same symbol rules and messages, and each
command's own default universe and range."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.errors import InputError, NotFoundError
from market_predictor.training.history import (
    MIN_TRAINING_ROWS,
    WalkForward,
    check_dataset_request,
    load_history,
    usable_rows,
)
from tests.fixtures.ml import sample_prices, store_prices

YEAR = WalkForward(pd.DateOffset(years=1))


@pytest.fixture
def stored(settings: Settings) -> Settings:
    store_prices(settings, sample_prices(("AAPL", "IBM", "MSFT"), "2010-01-01", "2012-12-31"))
    return settings.model_copy(update={"symbols": ["IBM", "GOOG"]})


def test_training_defaults_to_every_stored_symbol_and_day(stored: Settings) -> None:
    history = load_history(stored, None, None, None)
    assert history.symbols is None
    assert sorted(history.prices["symbol"].unique()) == ["AAPL", "IBM", "MSFT"]
    assert (history.start, history.end) == (dt.date(2010, 1, 4), dt.date(2012, 12, 31))


def test_training_reads_only_its_range(stored: Settings) -> None:
    history = load_history(stored, ["MSFT"], dt.date(2012, 1, 1), dt.date(2012, 6, 30))
    dates = pd.to_datetime(history.prices["date"])
    assert history.symbols == ["MSFT"]
    assert dates.min() >= pd.Timestamp("2012-01-01") and dates.max() <= pd.Timestamp("2012-06-30")
    assert (history.start, history.end) == (dt.date(2012, 1, 1), dt.date(2012, 6, 30))


def test_walk_forward_defaults_to_the_configured_stored_symbols_and_the_last_span(
    stored: Settings,
) -> None:
    history = load_history(stored, None, None, None, walk_forward=YEAR)
    assert history.symbols == ["IBM"]  # GOOG is configured but not stored
    assert (history.start, history.end) == (dt.date(2012, 1, 1), dt.date(2012, 12, 31))
    # The rows before the start are what the first fold fits on.
    assert pd.to_datetime(history.prices["date"]).min() < pd.Timestamp("2011-01-01")


def test_walk_forward_falls_back_to_every_stored_symbol(stored: Settings) -> None:
    elsewhere = stored.model_copy(update={"symbols": ["GOOG"]})
    assert load_history(elsewhere, None, None, None, walk_forward=YEAR).symbols == [
        "AAPL",
        "IBM",
        "MSFT",
    ]


@pytest.mark.parametrize("walk_forward", [None, YEAR])
def test_an_unknown_symbol_is_named_beside_what_the_store_holds(
    stored: Settings, walk_forward: WalkForward | None
) -> None:
    with pytest.raises(NotFoundError, match=r"not in the feature store: ZZZZ \(it holds AAPL, IBM"):
        load_history(stored, ["IBM", "ZZZZ"], None, None, walk_forward=walk_forward)


@pytest.mark.parametrize("walk_forward", [None, YEAR])
def test_an_empty_store_says_to_ingest_first(
    settings: Settings, walk_forward: WalkForward | None
) -> None:
    with pytest.raises(NotFoundError, match="run `mpp ingest` first"):
        load_history(settings, None, None, None, walk_forward=walk_forward)


def test_walk_forward_needs_a_year_of_usable_rows_plus_the_window_before_its_start(
    stored: Settings,
) -> None:
    with pytest.raises(InputError, match=r"too little history before 2010-12-01: \d+ usable"):
        load_history(stored, ["IBM"], dt.date(2010, 12, 1), None, walk_forward=YEAR)
    start = dt.date(2012, 1, 1)
    prices = load_history(stored, ["IBM"], start, None, walk_forward=YEAR).prices
    usable = usable_rows(prices[pd.to_datetime(prices["date"]) < pd.Timestamp(start)])
    exactly = WalkForward(YEAR.span, usable - MIN_TRAINING_ROWS)
    assert load_history(stored, ["IBM"], start, None, walk_forward=exactly).start == start
    one_more = WalkForward(YEAR.span, usable - MIN_TRAINING_ROWS + 1)
    with pytest.raises(InputError, match=f"{usable} usable rows, need at least {usable + 1}"):
        load_history(stored, ["IBM"], start, None, walk_forward=one_more)


def test_a_range_without_rows_is_refused(stored: Settings) -> None:
    with pytest.raises(InputError, match="no price rows between 2013-06-01 and the end"):
        load_history(stored, None, dt.date(2013, 6, 1), None)
    with pytest.raises(InputError, match="no stored prices for IBM between"):
        load_history(stored, ["IBM"], dt.date(2013, 6, 1), dt.date(2013, 7, 1), walk_forward=YEAR)


def test_an_inverted_range_is_refused(stored: Settings) -> None:
    with pytest.raises(InputError, match="is after end"):
        load_history(stored, None, dt.date(2012, 2, 1), dt.date(2012, 1, 1))


def test_a_dataset_version_excludes_a_selection() -> None:
    check_dataset_request(3, None, None, None)
    with pytest.raises(InputError, match="dataset_version fixes symbols and dates") as caught:
        check_dataset_request(3, ["IBM"], None, None)
    assert caught.value.param == "dataset_version"
    with pytest.raises(InputError, match="is after end"):
        check_dataset_request(None, None, dt.date(2012, 2, 1), dt.date(2012, 1, 1))

"""The look-ahead guards, on a small real store: the day's as-of date is resolved and
checked before anything runs (market_predictor.day), a champion trained past it is
refused for a forecast, and the window of prices read for a forecast ends on the as-of
day (market_predictor.inference)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from market_predictor import calendar
from market_predictor.config import Settings
from market_predictor.day import Day, check_no_look_ahead, resolve_day
from market_predictor.errors import InputError
from market_predictor.inference import read_window
from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.registry import ChampionModel
from market_predictor.store import FeatureStore
from tests.fixtures.ml import sample_prices, store_prices

AAPL_LAST = dt.date(2012, 6, 29)
MSFT_LAST = dt.date(2012, 9, 28)


@pytest.fixture
def store(settings: Settings) -> FeatureStore:
    """AAPL until the end of June 2012, MSFT until the end of September."""
    store_prices(
        settings,
        pd.concat(
            [
                sample_prices(["AAPL"], "2012-01-01", AAPL_LAST.isoformat()),
                sample_prices(["MSFT"], "2012-01-01", MSFT_LAST.isoformat()),
            ]
        ),
    )
    return FeatureStore.from_settings(settings)


def _champion(trained_until: dt.date) -> ChampionModel:
    return ChampionModel(
        name="m",
        version="7",
        run_id="r",
        is_baseline=True,
        min_history=2,
        read_rows=2,
        drift_profile={},
        trained_until=trained_until,
        forecaster=PersistenceForecaster(),
    )


def test_a_champion_trained_up_to_the_as_of_day_may_forecast_from_it() -> None:
    check_no_look_ahead(_champion(AAPL_LAST), AAPL_LAST)
    check_no_look_ahead(_champion(AAPL_LAST - dt.timedelta(days=1)), AAPL_LAST)


def test_a_champion_trained_one_day_past_the_as_of_day_is_refused() -> None:
    with pytest.raises(InputError) as refused:
        check_no_look_ahead(_champion(AAPL_LAST + dt.timedelta(days=1)), AAPL_LAST)
    message = str(refused.value)
    assert "(v7)" in message and "2012-06-30" in message and str(AAPL_LAST) in message
    assert "would use the future" in message


def _day(settings: Settings, symbols: list[str], as_of: dt.date | None = None) -> Day:
    return resolve_day(
        settings, as_of=as_of, symbols=symbols, default_as_of="latest_stored", purpose="ingest"
    )


def test_the_default_as_of_is_the_newest_stored_day_among_the_symbols(
    store: FeatureStore, settings: Settings
) -> None:
    assert _day(settings, ["AAPL", "MSFT"]).as_of == MSFT_LAST
    assert _day(settings, ["AAPL"]).as_of == AAPL_LAST


def test_an_explicit_as_of_is_kept(store: FeatureStore, settings: Settings) -> None:
    day = dt.date(2012, 3, 1)
    assert _day(settings, ["AAPL", "MSFT"], day).as_of == day


def test_today_is_a_valid_as_of_and_tomorrow_is_the_future(
    store: FeatureStore, settings: Settings
) -> None:
    today = dt.date.today()
    assert _day(settings, ["AAPL"], today).as_of == today
    with pytest.raises(InputError, match="in the future"):
        _day(settings, ["AAPL"], today + dt.timedelta(days=1))


def test_symbols_without_prices_are_named(store: FeatureStore, settings: Settings) -> None:
    with pytest.raises(InputError, match="no prices stored for IBM, GOOG"):
        _day(settings, ["IBM", "GOOG"])


def test_a_forecast_day_refuses_a_champion_trained_past_it_and_monitoring_does_not(
    store: FeatureStore, settings: Settings
) -> None:
    late = _champion(AAPL_LAST + dt.timedelta(days=1))
    with pytest.raises(InputError, match="would use the future"):
        resolve_day(settings, as_of=AAPL_LAST, symbols=["AAPL"], champion=late)
    watched = resolve_day(
        settings, as_of=AAPL_LAST, symbols=["AAPL"], champion=late, purpose="monitor"
    )
    assert watched.champion is late
    on_time = resolve_day(
        settings, as_of=AAPL_LAST, symbols=["AAPL"], champion=_champion(AAPL_LAST)
    )
    assert on_time.serving.trained_until == AAPL_LAST


def test_a_forecast_before_any_stored_price_says_so_before_the_look_ahead(
    store: FeatureStore, settings: Settings
) -> None:
    early = dt.date(2011, 6, 1)
    with pytest.raises(InputError, match="before any stored prices of AAPL"):
        resolve_day(settings, as_of=early, symbols=["AAPL"], champion=_champion(AAPL_LAST))


def test_the_window_ends_on_the_as_of_day_and_holds_enough_history(
    store: FeatureStore, settings: Settings
) -> None:
    tuned = settings.model_copy(update={"stale_after_days": 20})
    as_of = dt.date(2012, 5, 15)
    window = read_window(_day(tuned, ["AAPL", "MSFT"], as_of), rows=30)
    assert set(window["symbol"]) == {"AAPL", "MSFT"}
    assert window["date"].max() == pd.Timestamp(as_of)
    per_symbol = window.groupby("symbol").size()
    # A symbol up to `stale_after_days` behind must still find `min_history` rows.
    assert (per_symbol >= 30 + tuned.stale_after_days).all()
    assert list(window.columns) == ["symbol", "date", "open", "high", "low", "close", "volume"]
    stored = store.prices().read(["AAPL"], end=as_of)
    assert window[window["symbol"] == "AAPL"]["date"].tolist() == (
        stored["date"].tail(per_symbol["AAPL"]).tolist()
    )


def test_the_window_reads_only_the_symbols_asked_for(
    store: FeatureStore, settings: Settings
) -> None:
    window = read_window(_day(settings, ["MSFT"], MSFT_LAST), rows=5)
    assert set(window["symbol"]) == {"MSFT"}
    assert window["date"].max() == pd.Timestamp(MSFT_LAST)


def test_a_window_reaching_before_the_calendar_reads_from_the_first_row(
    store: FeatureStore, settings: Settings
) -> None:
    first = calendar.trading_days(dt.date(2012, 1, 1), dt.date(2012, 1, 31), settings.calendar)[0]
    with pytest.raises(InputError):
        calendar.shift_trading_days(first, -100_000, settings.calendar)
    window = read_window(_day(settings, ["AAPL"], AAPL_LAST), rows=100_000)
    assert window["date"].min() == pd.Timestamp(first)
    assert window["date"].max() == pd.Timestamp(AAPL_LAST)

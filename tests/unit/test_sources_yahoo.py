"""The yfinance source against replayed answers of Yahoo's chart API (real sample rows)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pandas as pd
import pytest

from market_predictor.errors import InputError, MPPError
from market_predictor.sources.base import FRAME_COLUMNS
from market_predictor.sources.sample import SampleSource
from market_predictor.sources.yahoo import YahooSource
from tests.fixtures.data import YahooReplay

START, END = dt.date(2013, 2, 19), dt.date(2013, 3, 1)


def _source(session: Any, delays: list[float] | None = None, retries: int = 3) -> YahooSource:
    sink = delays if delays is not None else []
    return YahooSource(session=session, retries=retries, backoff_seconds=0.01, sleep=sink.append)


def test_yahoo_bars_match_the_sample_adjusted_the_same_way(
    yahoo: YahooReplay, yahoo_session: Any
) -> None:
    frame = _source(yahoo_session).fetch(["AAPL", "MSFT"], START, END)
    expected = SampleSource().fetch(["AAPL", "MSFT"], START, END)
    assert tuple(frame.columns) == FRAME_COLUMNS
    pd.testing.assert_frame_equal(frame, expected, check_exact=False, rtol=1e-9)


def test_end_date_is_inclusive_and_dates_are_exchange_local(
    yahoo: YahooReplay, yahoo_session: Any
) -> None:
    frame = _source(yahoo_session).fetch(["IBM"], dt.date(2013, 2, 28), dt.date(2013, 2, 28))
    assert list(frame["date"]) == [pd.Timestamp("2013-02-28")]


def test_transient_server_errors_are_retried_with_exponential_backoff(
    yahoo: YahooReplay, yahoo_session: Any
) -> None:
    yahoo.fail("AAPL", times=4, status=503)
    delays: list[float] = []
    frame = _source(yahoo_session, delays).fetch(["AAPL"], START, END)
    assert len(frame) == 9
    assert delays and all(b == 2 * a for a, b in itertools.pairwise(delays))


def test_rate_limit_answers_are_retried(yahoo: YahooReplay, yahoo_session: Any) -> None:
    yahoo.fail("MSFT", times=2, status=429, body="Too Many Requests")
    delays: list[float] = []
    frame = _source(yahoo_session, delays).fetch(["MSFT"], START, END)
    assert len(frame) == 9
    assert delays


def test_persistent_server_errors_fail_as_runtime_error_after_the_retries(
    yahoo: YahooReplay, yahoo_session: Any
) -> None:
    yahoo.fail("AAPL", times=100, status=502)
    delays: list[float] = []
    with pytest.raises(MPPError, match="AAPL after 3 attempts") as raised:
        _source(yahoo_session, delays, retries=2).fetch(["AAPL"], START, END)
    assert not isinstance(raised.value, InputError)
    assert delays == [0.01, 0.02]


def test_unknown_symbol_is_an_input_error_naming_it(yahoo: YahooReplay, yahoo_session: Any) -> None:
    with pytest.raises(InputError, match="no daily prices for ZZZNOPE"):
        _source(yahoo_session).fetch(["AAPL", "ZZZNOPE"], START, END)


def test_empty_answer_for_the_range_is_an_input_error(
    yahoo: YahooReplay, yahoo_session: Any
) -> None:
    with pytest.raises(InputError, match="no daily prices for IBM"):
        _source(yahoo_session).fetch(["IBM"], dt.date(2013, 3, 2), dt.date(2013, 3, 3))


def test_no_start_date_asks_for_the_full_history(yahoo: YahooReplay, yahoo_session: Any) -> None:
    frame = _source(yahoo_session).fetch(["GOOG"], None, dt.date(2013, 3, 1))
    assert frame["date"].min() == pd.Timestamp("2004-08-19")


def test_intraday_interval_is_refused_until_an_intraday_group_exists() -> None:
    with pytest.raises(InputError, match=r"'1h' is not supported.*daily"):
        YahooSource(interval="1h")

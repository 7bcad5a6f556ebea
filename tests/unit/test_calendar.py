from __future__ import annotations

import datetime as dt

import pytest

from market_predictor import calendar
from market_predictor.errors import InputError

D = dt.date
XNYS = "XNYS"


def test_friday_predicts_the_following_monday() -> None:
    assert calendar.next_trading_day(D(2013, 3, 1), XNYS) == D(2013, 3, 4)


def test_christmas_is_skipped() -> None:
    assert calendar.next_trading_day(D(2012, 12, 24), XNYS) == D(2012, 12, 26)


def test_unscheduled_closures_are_skipped() -> None:
    # NYSE closed on 29-30 October 2012 for hurricane Sandy.
    assert calendar.next_trading_day(D(2012, 10, 26), XNYS) == D(2012, 10, 31)


def test_weekend_as_of_date_targets_the_next_session() -> None:
    assert calendar.next_trading_day(D(2013, 3, 2), XNYS) == D(2013, 3, 4)
    assert calendar.next_trading_day(D(2013, 3, 3), XNYS) == D(2013, 3, 4)


def test_latest_trading_day_rolls_back_over_weekends_and_holidays() -> None:
    assert calendar.latest_trading_day(D(2013, 3, 3), XNYS) == D(2013, 3, 1)
    assert calendar.latest_trading_day(D(2013, 1, 1), XNYS) == D(2012, 12, 31)
    assert calendar.latest_trading_day(D(2013, 3, 1), XNYS) == D(2013, 3, 1)


def test_trading_days_lists_sessions_only() -> None:
    days = calendar.trading_days(D(2012, 12, 21), D(2013, 1, 2), XNYS)
    assert days == [
        D(2012, 12, 21),
        D(2012, 12, 24),
        D(2012, 12, 26),
        D(2012, 12, 27),
        D(2012, 12, 28),
        D(2012, 12, 31),
        D(2013, 1, 2),
    ]
    assert calendar.trading_days(D(2013, 1, 2), D(2012, 12, 21), XNYS) == []


def test_trading_days_between_counts_sessions_not_calendar_days() -> None:
    assert calendar.trading_days_between(D(2013, 3, 1), D(2013, 3, 1), XNYS) == 0
    assert calendar.trading_days_between(D(2013, 3, 1), D(2013, 3, 4), XNYS) == 1
    assert calendar.trading_days_between(D(2012, 12, 21), D(2013, 1, 2), XNYS) == 6
    assert calendar.trading_days_between(D(2013, 3, 4), D(2013, 3, 1), XNYS) == -1


def test_shift_trading_days_moves_by_sessions_in_both_directions() -> None:
    assert calendar.shift_trading_days(D(2012, 12, 24), 1, XNYS) == D(2012, 12, 26)
    assert calendar.shift_trading_days(D(2013, 1, 2), -2, XNYS) == D(2012, 12, 28)
    # A weekend rolls back to Friday before moving.
    assert calendar.shift_trading_days(D(2013, 3, 2), 0, XNYS) == D(2013, 3, 1)


def test_is_trading_day_knows_holidays() -> None:
    assert calendar.is_trading_day(D(2013, 1, 2), XNYS)
    assert not calendar.is_trading_day(D(2013, 1, 1), XNYS)
    assert not calendar.is_trading_day(D(2013, 3, 2), XNYS)


def test_calendar_is_built_once_and_reused() -> None:
    assert calendar.trading_calendar("XNYS") is calendar.trading_calendar("XNYS")


def test_unknown_calendar_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown exchange calendar"):
        calendar.next_trading_day(D(2013, 3, 1), "NOPE")


def test_dates_outside_the_calendar_are_input_errors() -> None:
    with pytest.raises(InputError, match="outside"):
        calendar.next_trading_day(D(1980, 1, 2), XNYS)
    with pytest.raises(InputError, match="outside"):
        calendar.shift_trading_days(D(1990, 1, 5), -30, XNYS)

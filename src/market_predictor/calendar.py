"""Trading days of an exchange, from the exchange_calendars library.

Predictions target the next *trading* day (Friday predicts Monday, holidays are
skipped) and staleness and cooldowns count trading days, so all date arithmetic of
the daily job goes through here.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING

import pandas as pd

from market_predictor.errors import InputError

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar

# The sample data starts in 2000; an early start keeps any realistic history in range.
CALENDAR_START = "1990-01-01"


@functools.cache
def trading_calendar(name: str) -> ExchangeCalendar:
    """The exchange calendar `name` (cached: building one takes a fraction of a second)."""
    import exchange_calendars

    try:
        return exchange_calendars.get_calendar(name, start=CALENDAR_START)
    except exchange_calendars.errors.InvalidCalendarName:
        raise InputError(f"unknown exchange calendar {name!r} (e.g. XNYS, XLON)") from None


def is_trading_day(day: dt.date, calendar: str) -> bool:
    cal = trading_calendar(calendar)
    return bool(cal.is_session(_in_bounds(cal, day)))


def latest_trading_day(on_or_before: dt.date, calendar: str) -> dt.date:
    """`on_or_before` if it is a trading day, else the last trading day before it."""
    cal = trading_calendar(calendar)
    return _date(cal.date_to_session(_in_bounds(cal, on_or_before), direction="previous"))


def next_trading_day(as_of: dt.date, calendar: str) -> dt.date:
    """The first trading day strictly after `as_of`: the day a prediction made at its
    close is for."""
    cal = trading_calendar(calendar)
    day = _in_bounds(cal, as_of)
    if cal.is_session(day):
        return _date(cal.next_session(day))
    return _date(cal.date_to_session(day, direction="next"))


def shift_trading_days(day: dt.date, count: int, calendar: str) -> dt.date:
    """The trading day `count` sessions after (or, negative, before) `day`; a
    non-trading `day` first rolls back to the trading day before it."""
    cal = trading_calendar(calendar)
    session = cal.date_to_session(_in_bounds(cal, day), direction="previous")
    try:
        return _date(cal.session_offset(session, count))
    except Exception as exc:  # the library raises its own errors for out-of-range offsets
        raise InputError(f"{count:+d} trading days from {day} is outside the calendar") from exc


def trading_days(start: dt.date, end: dt.date, calendar: str) -> list[dt.date]:
    """Every trading day in [start, end]."""
    if start > end:
        return []
    cal = trading_calendar(calendar)
    sessions = cal.sessions_in_range(_in_bounds(cal, start), _in_bounds(cal, end))
    return [session.date() for session in sessions]


def trading_days_between(earlier: dt.date, later: dt.date, calendar: str) -> int:
    """Trading days in (earlier, later]: 0 for the same day, 1 from Friday to Monday."""
    if later <= earlier:
        return -len(trading_days(later + dt.timedelta(days=1), earlier, calendar))
    return len(trading_days(earlier + dt.timedelta(days=1), later, calendar))


def _in_bounds(cal: ExchangeCalendar, day: dt.date) -> pd.Timestamp:
    stamp = pd.Timestamp(day).normalize()
    first, last = cal.first_session, cal.last_session
    if not first <= stamp <= last:
        raise InputError(
            f"date {stamp.date()} is outside the {cal.name} calendar "
            f"({first.date()} to {last.date()})"
        )
    return stamp


def _date(stamp: pd.Timestamp) -> dt.date:
    return pd.Timestamp(stamp).date()

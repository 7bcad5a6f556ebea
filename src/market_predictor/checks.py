"""Input checks shared by every stage, so each rule and its message exist once."""

from __future__ import annotations

import datetime as dt

from market_predictor.errors import InputError


def check_range(start: dt.date | None, end: dt.date | None) -> None:
    """An inclusive [start, end] range must not be inverted (open ends are fine)."""
    if start is not None and end is not None and start > end:
        raise InputError(f"start {start} is after end {end}")


def check_not_future(day: dt.date | None, what: str = "as-of date") -> None:
    """Nothing can be known after today: a date in the future is bad input."""
    if day is not None and day > dt.date.today():
        raise InputError(f"{what} {day} is in the future")


def first_line(exc: BaseException) -> str:
    """`Type: first line of the message`; native errors (Rust backtraces) stay one line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

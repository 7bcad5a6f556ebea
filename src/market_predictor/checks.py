"""Input checks shared by every stage, so each rule and its message exist once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from market_predictor.errors import InputError

if TYPE_CHECKING:
    from pydantic import ValidationError


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


@dataclass(frozen=True)
class Problem:
    """The first error of a pydantic validation, in the parts every message is made of;
    each caller names the field in its users' terms (a variable, a setting, an option)."""

    field: str | None  # None: a check across fields, whose rule names them
    value: Any
    kind: str  # pydantic's error type: greater_than_equal, literal_error, ...
    bounds: dict[str, Any]
    rule: str  # pydantic's sentence, without its "Value error, " prefix

    @property
    def shown(self) -> str:
        """The value as the user typed it (a list as its comma-separated items)."""
        value = self.value
        return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def first_problem(exc: ValidationError) -> Problem:
    """The one translation of a pydantic ValidationError: its first error only, since a
    one-line message can name one thing to fix."""
    error = exc.errors()[0]
    return Problem(
        field=str(error["loc"][0]) if error["loc"] else None,
        value=error.get("input"),
        kind=error["type"],
        bounds=dict(error.get("ctx") or {}),
        rule=error["msg"].removeprefix("Value error, "),
    )

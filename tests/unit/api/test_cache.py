"""The cache's date slicing (inclusive at both ends) and ETag matching."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from market_predictor.api.deps import _matches
from market_predictor.api.snapshot import Series

DAYS = [dt.date(2024, 1, d) for d in (2, 3, 4, 8, 9)]
SERIES = Series(list(DAYS), np.array([d.toordinal() for d in DAYS], dtype=np.int64))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (dt.date(2024, 1, 3), dt.date(2024, 1, 8), DAYS[1:4]),  # both ends stored days
        (dt.date(2024, 1, 5), dt.date(2024, 1, 7), []),  # a gap between rows
        (dt.date(2024, 1, 4), dt.date(2024, 1, 4), [DAYS[2]]),  # a single day
        (None, dt.date(2024, 1, 2), [DAYS[0]]),
        (dt.date(2024, 1, 9), None, [DAYS[4]]),
        (dt.date(2024, 1, 10), None, []),
        (None, None, DAYS),
    ],
)
def test_bounds_select_the_rows_dated_in_the_inclusive_range(
    start: dt.date | None, end: dt.date | None, expected: list[dt.date]
) -> None:
    i, j = SERIES.bounds(start, end)
    assert SERIES.rows[i:j] == expected


def test_an_empty_series_has_no_rows_and_no_last_day() -> None:
    empty = Series([], np.empty(0, dtype=np.int64))
    assert empty.bounds(dt.date(2024, 1, 1), None) == (0, 0)
    assert empty.last_day is None
    assert SERIES.last_day == DAYS[-1]


@pytest.mark.parametrize(
    ("header", "matched"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
    ],
)
def test_if_none_match_matches_the_current_etag_only(header: str | None, matched: bool) -> None:
    assert _matches(header, '"abc"') is matched

"""Filter expressions of every table read, built here and nowhere else.

Text columns need `text_field` (files written by merges hold string_view), and date
bounds need date32 scalars so that pyarrow prunes files by their statistics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds


def text_field(name: str) -> ds.Expression:
    """A filter operand for the text column `name` that is safe on files written by
    delta-rs merges.

    Merged files store text as string_view, and pyarrow's statistics pruning has no
    kernel comparing that with a string literal; the cast skips pruning on this column
    only (date and number predicates still prune files).
    """
    return ds.field(name).cast(pa.string())


def date_range(
    column: str, start: dt.date | None = None, end: dt.date | None = None
) -> list[ds.Expression]:
    """Inclusive bounds on a date column."""
    bounds = []
    if start is not None:
        bounds.append(ds.field(column) >= _date(start))
    if end is not None:
        bounds.append(ds.field(column) <= _date(end))
    return bounds


def number(column: str, value: int) -> ds.Expression:
    """The whole-number column `column` equal to `value`."""
    return ds.field(column) == int(value)


def after(column: str, day: dt.date) -> ds.Expression:
    return ds.field(column) > _date(day)


def before(column: str, day: dt.date) -> ds.Expression:
    return ds.field(column) < _date(day)


def symbol_span(first: str, last: str) -> ds.Expression:
    """Symbols from `first` to `last` (inclusive, in sort order). A plain field, unlike
    `text_field`, so that files sorted by symbol are pruned by their statistics: only
    for tables written whole (training datasets), never merged into."""
    return (ds.field("symbol") >= first) & (ds.field("symbol") <= last)


def matching(
    symbols: Iterable[str] | None = None, model_name: str | None = None
) -> list[ds.Expression]:
    conditions = []
    if symbols is not None:
        conditions.append(text_field("symbol").isin(list(symbols)))
    if model_name is not None:
        conditions.append(text_field("model_name") == model_name)
    return conditions


def all_of(conditions: Sequence[ds.Expression]) -> ds.Expression | None:
    if not conditions:
        return None
    expression = conditions[0]
    for condition in conditions[1:]:
        expression = expression & condition
    return expression


def _date(day: dt.date | pd.Timestamp) -> pa.Scalar:
    return pa.scalar(pd.Timestamp(day).date(), pa.date32())

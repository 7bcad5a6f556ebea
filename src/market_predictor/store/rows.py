"""A table's Arrow schema, derived from its row model: each column is declared once.

Every table module declares its rows as a pydantic model; the Arrow schema Delta
writes, the columns a read returns and the API's response models all derive from it,
so adding or changing a column is an edit to one class.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterable, Mapping

import pyarrow as pa
from pydantic import BaseModel, Field

UTC_TS = pa.timestamp("us", tz="UTC")

_ARROW_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    dt.date: pa.date32(),
    dt.datetime: UTC_TS,
}


def arrow_schema(
    model: type[BaseModel],
    *,
    not_null: Iterable[str] = (),
    stored_as: Mapping[str, pa.DataType] | None = None,
) -> pa.Schema:
    """The model's fields as Arrow fields, in declaration order. `not_null` columns are
    declared non-nullable; `stored_as` overrides a column's storage type (a list of
    records kept as JSON text, say)."""
    required = set(not_null)
    overrides = dict(stored_as or {})
    fields = []
    for name, info in model.model_fields.items():
        kind = overrides.get(name) or _ARROW_TYPES[_plain(info.annotation)]
        fields.append(pa.field(name, kind, nullable=name not in required))
    return pa.schema(fields)


def column_names(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(model.model_fields)


def _plain(annotation: object) -> type:
    """`float | None` -> float; a plain type stays itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        present = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(present) == 1:
            return _plain(present[0])
    if isinstance(annotation, type):
        return annotation
    raise TypeError(f"no Arrow type for {annotation!r}")


class SymbolField(BaseModel):
    """The ticker column every per-symbol table starts with."""

    symbol: str = Field(description="Ticker, upper case (AAPL, BRK-B, ^GSPC, ES=F).")

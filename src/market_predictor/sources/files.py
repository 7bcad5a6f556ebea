"""A user's own prices from a CSV or Parquet file in long format.

Required columns: symbol, date, open, high, low, close, volume; optional adj_close
(then prices are adjusted the way yfinance adjusts). Header names are matched
case-insensitively, with spaces read as underscores ("Adj Close" -> adj_close).
Anything that cannot be read as a price row is a clear InputError naming the column
and row; rows that parse but break the price contract are quarantined downstream.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from market_predictor.errors import InputError
from market_predictor.reuse import kept
from market_predictor.sources.base import (
    PRICE_COLUMNS,
    adjust_to_close,
    conform,
    describe_range,
    require_symbols,
    slice_dates,
)
from market_predictor.symbols import normalise_symbol

T = TypeVar("T")
REQUIRED_COLUMNS = ("symbol", "date", *PRICE_COLUMNS)
OPTIONAL_COLUMNS = ("adj_close",)
# A UTC offset after a time of day ("...09:30:00-04:00", "...Z"). Rows of one file may
# carry different offsets (daylight saving); each row keeps its own wall date.
_UTC_OFFSET = r"^(.*\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$"
# The days the store's nanosecond timestamps can hold.
FIRST_DAY = pd.Timestamp.min.ceil("D")
LAST_DAY = pd.Timestamp.max.floor("D")


def _kept_copy(path: Path, read: Callable[[], T]) -> T:
    """The whole file, read once per replay (reuse.across_days): keyed by path, size and
    modification time, so a file that changes is read again."""
    files = kept("source files")
    if files is None:
        return read()
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in files:
        for stale in [k for k in files if k[0] == key[0]]:
            del files[stale]
        files[key] = read()
    copy: T = files[key]
    return copy


class FileSource:
    """Reads `path` as CSV (`name="csv"`) or Parquet (`name="parquet"`)."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = Path(path)

    def fetch(self, symbols: list[str], start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
        raw = self._read(symbols, start, end)
        frame = _parse(raw, self.path, first_row=2 if self.name == "csv" else 1)
        frame = slice_dates(frame[frame["symbol"].isin(symbols)], start, end)
        require_symbols(frame, symbols, f"in {self.path.name} {describe_range(start, end)}")
        if "adj_close" in frame.columns:
            frame = adjust_to_close(frame, frame["adj_close"])
            return conform(frame, adjusted=frame["adj_close"].notna())
        return conform(frame, adjusted=False)

    def _read(self, symbols: list[str], start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
        if self.path.is_dir():
            raise InputError(f"{self.name} path {str(self.path)!r} is a directory, not a file")
        if not self.path.is_file():
            raise InputError(f"{self.name} file {str(self.path)!r} does not exist")
        try:
            if self.name == "csv":
                raw = _kept_copy(self.path, lambda: pd.read_csv(self.path, dtype="str"))
                return _with_canonical_names(raw.copy())
            return _read_parquet(self.path, symbols, start, end)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"cannot read {self.name} file {self.path.name}: not UTF-8 text "
                f"(byte 0x{exc.object[exc.start]:02x})"
            ) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, pa.ArrowInvalid, OSError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise InputError(
                f"cannot read {self.name} file {self.path.name}: {first_line}"
            ) from None


def _read_parquet(
    path: Path, symbols: list[str], start: dt.date | None, end: dt.date | None
) -> pd.DataFrame:
    """Read only the requested symbols and dates: an incremental ingest of one day from a
    file of ten years should not parse ten years."""
    names = {name: _canonical(name) for name in pq.read_schema(path).names}
    by_canonical = {canonical: name for name, canonical in names.items()}
    _check_columns(list(by_canonical), path)
    dataset = ds.dataset(path, format="parquet")
    conditions = []  # dates first: in memory, filtering by them first cuts most rows
    date_field = dataset.schema.field(by_canonical["date"])
    if pa.types.is_date(date_field.type) or pa.types.is_timestamp(date_field.type):
        for bound, op in ((start, "ge"), (end, "le")):
            if bound is None:
                continue
            value = pa.scalar(bound, pa.date32())
            if pa.types.is_timestamp(date_field.type):
                # Compare in the column's own type (a tz-aware column needs its zone).
                value = pa.scalar(pd.Timestamp(bound), pa.timestamp("ns")).cast(date_field.type)
                if op == "le":
                    value = pa.scalar(
                        pd.Timestamp(bound) + pd.Timedelta(days=1), pa.timestamp("ns")
                    ).cast(date_field.type)
                    op = "lt"
            field = ds.field(by_canonical["date"])
            conditions.append({"ge": field >= value, "le": field <= value, "lt": field < value}[op])
    symbol_field = dataset.schema.field(by_canonical["symbol"])
    if pa.types.is_string(symbol_field.type) or pa.types.is_large_string(symbol_field.type):
        # Symbols in the file may be lower case; only an exact-case match can be pushed down.
        wanted = sorted({*symbols, *(s.lower() for s in symbols)})
        conditions.append(ds.field(by_canonical["symbol"]).isin(wanted))
    columns = [by_canonical[c] for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in by_canonical]
    if kept("source files") is None:
        condition = functools.reduce(operator.and_, conditions) if conditions else None
        table = dataset.to_table(columns=columns, filter=condition)
    else:
        table = _kept_copy(path, lambda: dataset.to_table(columns=columns))
        for condition in conditions:
            table = table.filter(condition)
    return table.to_pandas().rename(columns=names)


def _canonical(name: str) -> str:
    return str(name).strip().lower().replace(" ", "_")


def _with_canonical_names(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: _canonical(c) for c in frame.columns})


def _check_columns(columns: list[str], path: Path) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"{path.name} lacks column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(needs {', '.join(REQUIRED_COLUMNS)}; adj_close optional)"
        )


def _parse(raw: pd.DataFrame, path: Path, first_row: int) -> pd.DataFrame:
    """Typed columns, or an InputError naming the first value that is not what it claims."""
    _check_columns(list(raw.columns), path)
    raw = raw.reset_index(drop=True)
    frame = pd.DataFrame(index=raw.index)

    symbols = raw["symbol"]
    blank = symbols.isna() | (symbols.astype("str").str.strip() == "")
    if blank.any():
        raise InputError(f"{path.name} row {_row(blank, first_row)}: empty symbol")
    mapping = {value: normalise_symbol(str(value)) for value in symbols.unique()}
    frame["symbol"] = symbols.map(mapping).astype("str")

    frame["date"] = _parse_dates(raw["date"], path, first_row)
    for column in (*PRICE_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in raw.columns)):
        frame[column] = _parse_numbers(raw[column], column, path, first_row)
    return frame


def _parse_dates(values: pd.Series, path: Path, first_row: int) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype("str").str.strip().str.replace(_UTC_OFFSET, r"\1", regex=True)
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        bad = parsed.isna()
        if bad.any():
            row = _row(bad, first_row)
            value = values[bad].iloc[0]
            raise InputError(f"{path.name} row {row}: malformed date {value!r} (use YYYY-MM-DD)")
    if getattr(parsed.dt, "tz", None) is not None:
        # Keep the exchange-local wall date: a bar stamped 09:30 New York is that day.
        parsed = parsed.dt.tz_localize(None)
    days = parsed.dt.normalize()
    outside = (days < FIRST_DAY) | (days > LAST_DAY)
    if outside.any():
        raise InputError(
            f"{path.name} row {_row(outside, first_row)}: date {values[outside].iloc[0]!r} "
            f"is outside {FIRST_DAY.date()}..{LAST_DAY.date()}"
        )
    return days.astype("datetime64[ns]")


def _parse_numbers(values: pd.Series, column: str, path: Path, first_row: int) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    numbers = pd.to_numeric(values, errors="coerce")
    # An empty cell is a missing value (quarantined later); text is a malformed file.
    present = values.notna() & (values.astype("str").str.strip() != "")
    bad = numbers.isna() & present
    if bad.any():
        value = values[bad].iloc[0]
        raise InputError(
            f"{path.name} row {_row(bad, first_row)}: {column} {value!r} is not a number"
        )
    return numbers.astype("float64")


def _row(mask: pd.Series, first_row: int) -> int:
    return int(mask.to_numpy().argmax()) + first_row

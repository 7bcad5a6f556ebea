"""What the store keeps from one day to the next within a replay (reuse.across_days):
each Delta table opened once and brought up to date at every later open, and the
rows of the data files of the tables a day reads whole ranges of (forecasts, errors,
interval scales), each file decoded once.

Both stay exact with other processes writing: every open still reads the table's
log for commits made since, and Delta never changes a data file once written, so a
file's kept rows are what a scan of it returns. A day's reads then cost what the files
added since the day before cost, not the months of history the monitoring window holds.
Outside a replay nothing is kept and every read opens and scans afresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable

from market_predictor.reuse import kept

_EPOCH = dt.date(1970, 1, 1)


def open_table(uri: str, storage_options: dict[str, str]) -> DeltaTable:
    """The table at its newest version (TableNotFoundError if there is none)."""
    tables = kept("delta tables")
    if tables is None:
        return DeltaTable(uri, storage_options=storage_options)
    table = tables.get(uri)
    if table is None:
        table = tables[uri] = DeltaTable(uri, storage_options=storage_options)
    else:
        # Reads only the commits made since: a fresh open replays the log from its
        # last checkpoint, and a day opens its tables dozens of times.
        table.update_incremental()
    return table


def data_files(table: DeltaTable) -> list[str]:
    """The data files of the table's snapshot, as its log names them."""
    return [str(path) for path in table.get_add_actions(flatten=False).column("path").to_pylist()]


@dataclass(frozen=True)
class DateSpan:
    """Inclusive bounds that a read's filter already puts on a date column: a kept
    file sorted by that column is cut to them before the filter runs over it (the
    prices history is one file of millions of rows, sorted by date)."""

    column: str
    start: dt.date | None
    end: dt.date | None


class _File:
    """One data file's rows, and by date column a copy sorted by it with its days."""

    def __init__(self, rows: pa.Table) -> None:
        self.rows = rows
        self._by_date: dict[str, tuple[pa.Table, np.ndarray]] = {}

    def within(self, span: DateSpan | None) -> pa.Table:
        """The rows, less those outside `span` (then in date order: a read given a span
        sorts what it keeps by its key)."""
        if span is None or span.column not in self.rows.schema.names:
            return self.rows
        if span.column not in self._by_date:
            self._by_date[span.column] = _sorted_by(self.rows, span.column)
        rows, days = self._by_date[span.column]
        first = 0 if span.start is None else np.searchsorted(days, _day(span.start), "left")
        last = len(days) if span.end is None else np.searchsorted(days, _day(span.end), "right")
        return rows.slice(int(first), int(max(last - first, 0)))


def _sorted_by(rows: pa.Table, column: str) -> tuple[pa.Table, np.ndarray]:
    """The rows in `column` order (stable; nulls last, outside any span) with their days."""
    days = rows[column].cast(pa.int32()).to_numpy(zero_copy_only=False)
    if not np.all(days[1:] >= days[:-1]):
        order = np.argsort(days, kind="stable")
        rows, days = rows.take(pa.array(order)), days[order]
    return rows, days


def file_rows(
    uri: str,
    table: DeltaTable,
    files: Sequence[str] | None = None,
    span: DateSpan | None = None,
) -> pa.Table | None:
    """Every row of `files` (default: all the snapshot's files, and then the kept
    files the snapshot no longer holds are dropped), in their order, less the rows of
    date-sorted files outside `span`; None outside a replay."""
    held = kept("table files")
    if held is None:
        return None
    wanted = list(files) if files is not None else data_files(table)
    missing = [path for path in wanted if (uri, path) not in held]
    if missing:
        _read_into(held, uri, table, missing)
    if len({held[(uri, path)].rows.schema for path in wanted}) > 1:
        # The table's schema changed between reads (a column added): read them again.
        _read_into(held, uri, table, wanted)
    parts = [held[(uri, path)].within(span) for path in wanted]
    if files is None:
        current = set(wanted)
        for gone in [key for key in held if key[0] == uri and key[1] not in current]:
            del held[gone]
    return pa.concat_tables(parts) if parts else None


def _day(day: dt.date) -> int:
    return (day - _EPOCH).days


def _read_into(
    held: dict[tuple[str, str], _File], uri: str, table: DeltaTable, paths: list[str]
) -> None:
    """Read `paths` of the table into `held`. The table's Arrow dataset (its schema,
    format and filesystem) is built once per schema and kept: building it costs tens of
    milliseconds at a few dozen files, and a replay reads a table's new file daily."""
    datasets = kept("delta datasets")
    schema = table.schema().to_json()
    template = datasets.get(uri) if datasets is not None else None
    if template is None or template[0] != schema:
        template = (schema, table.to_pyarrow_dataset())
        if datasets is not None:
            datasets[uri] = template
    dataset = template[1]
    for path in paths:
        # As deltalake names a file of the dataset it builds: by its path in the log.
        fragment = dataset.format.make_fragment(path, filesystem=dataset.filesystem)
        one = ds.FileSystemDataset([fragment], dataset.schema, dataset.format, dataset.filesystem)
        held[(uri, path)] = _File(one.to_table())

"""The `monitoring/summary` table: each day's rolling skill and retrain-trigger verdict
per symbol and forecast horizon, keyed by (date, symbol, horizon); its row model,
schema, reads and writes. `SymbolSkill` is what `mpp monitor --json` and the API's
metrics route serve of a row.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence

import pandas as pd
import pyarrow as pa
from pydantic import Field, field_validator

from market_predictor.records import OptionalFloatsModel
from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult
from market_predictor.store.filters import date_range, matching
from market_predictor.store.rows import SymbolField, arrow_schema, column_names
from market_predictor.triggers.base import TriggerTest

KEY = ("date", "symbol", "horizon")
# Tables written before multi-horizon forecasts summarise next-day forecasts only.
ADDED_COLUMNS = {"horizon": 1}
# Version 2 (issue 9): rows name their trigger test, statistic, threshold and window
# instead of a PSI. Homes with a version-1 table keep it untouched as the old rule's
# history; new rows go here, so no table ever holds two schemas.
TABLE_NAME = "monitoring/summary_v2"


class Skill(OptionalFloatsModel):
    """Rolling skill over a symbol's last realised errors (None where undefined)."""

    n: int
    mae: float | None = None
    persistence_mae: float | None = None
    mase: float | None = None
    coverage: float | None = None
    directional_accuracy: float | None = None


class Verdict(OptionalFloatsModel):
    """The day's trigger tests: the reported one (the firing one with the smallest
    p-value, else the one closest to firing), every test, and the decision."""

    test: str | None = None
    statistic: float | None = None
    threshold: str | None = None
    test_window: int | None = None
    p_value: float | None = None
    tests: list[TriggerTest] = Field(default_factory=list)
    retrain_recommended: bool = False
    reason: str = ""

    @field_validator("tests", mode="before")
    @classmethod
    def _stored_as_json(cls, value: object) -> object:
        """The summary table stores the tests as JSON text (an infinite statistic as
        Infinity): read back, what is not finite is unknown, as every other float here."""
        if not isinstance(value, str):
            return value
        return [{key: _finite_json(v) for key, v in test.items()} for test in json.loads(value)]


def _finite_json(value: object) -> object:
    """finite_or_none of a value parsed from JSON (never a numpy scalar), without its
    generic checks: monitoring validates thousands of tests a day."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


class SymbolSkill(Verdict, Skill):
    """One symbol's row of the monitoring summary for a day."""


class _DayOf(OptionalFloatsModel):
    date: dt.date
    horizon: int = 1
    model_version: str | None = None
    window: int | None = None


class DailySkill(SymbolSkill, _DayOf):
    """One day's monitoring summary row (rolling window ending that day), as served."""


class SummaryRow(DailySkill, SymbolField):
    model_name: str | None = None
    created_at: dt.datetime | None = None


SCHEMA = arrow_schema(SummaryRow, stored_as={"tests": pa.string()})
SKILL_COLUMNS = column_names(Skill)
_COMPARED = tuple(c for c in SCHEMA.names if c not in (*KEY, "created_at"))


class SummaryTable(Table):
    def __init__(self, backend: StorageBackend) -> None:
        super().__init__(backend, TABLE_NAME, SCHEMA, added_columns=ADDED_COLUMNS)

    def write(self, frame: pd.DataFrame, metadata: dict[str, str] | None = None) -> WriteResult:
        return self.upsert(frame, keys=KEY, compare=_COMPARED, metadata=metadata)

    def read_rows(
        self,
        symbols: Iterable[str] | None = None,
        model_name: str | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Daily monitoring summary rows dated in [start, end]."""
        conditions = [*matching(symbols, model_name), *date_range("date", start, end)]
        return self.select(conditions, columns, ("symbol", "horizon", "date"))

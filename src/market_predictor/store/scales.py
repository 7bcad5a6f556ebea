"""The `monitoring/interval_scales` table: the online interval scale (adaptive conformal
inference, market_predictor.online_calibration) of each model version, per day, symbol
and horizon, keyed by (date, symbol, horizon, model_name, model_version); its row model,
schema, reads and writes. Monitor writes a day's row after that day's realised errors;
the next day's predict serves with it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import pandas as pd
from pydantic import Field, computed_field

from market_predictor.store.backends import StorageBackend
from market_predictor.store.delta import Table, WriteResult
from market_predictor.store.filters import date_range, matching
from market_predictor.store.rows import SymbolField, arrow_schema

TABLE_NAME = "monitoring/interval_scales"
# Stored rounded, so a re-run whose floats differ in the last bits compares equal.
SCALE_DECIMALS = 12


class IntervalScale(SymbolField):
    """One tail pair's online scale after `n_updates` realised errors of a model version."""

    horizon: int = 1
    model_version: str
    log_scale_lower: float = Field(description="Log of the factor on the lower tail's width.")
    log_scale_upper: float = Field(description="Log of the factor on the upper tail's width.")
    n_updates: int = Field(description="Realised errors of this model version behind it.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def lower_scale(self) -> float:
        return math.exp(self.log_scale_lower)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def upper_scale(self) -> float:
        return math.exp(self.log_scale_upper)


class ScaleRow(IntervalScale):
    date: dt.date = Field(description="The day whose realised errors (targets <= it) it holds.")
    model_name: str
    created_at: dt.datetime | None = None


KEY = ("date", "symbol", "horizon", "model_name", "model_version")
SCHEMA = arrow_schema(ScaleRow)
_COMPARED = ("log_scale_lower", "log_scale_upper", "n_updates")
ORDER = ("symbol", "horizon", "date")


def rows(
    states: pd.DataFrame, *, day: dt.date, model_name: str, model_version: str
) -> pd.DataFrame:
    """States (online_calibration.state_from_errors) as the day's table rows."""
    frame = pd.DataFrame(
        {
            "symbol": states["symbol"].astype(str),
            "horizon": states["horizon"].astype("int64"),
            "model_version": model_version,
            "log_scale_lower": states["log_scale_lower"].astype("float64").round(SCALE_DECIMALS),
            "log_scale_upper": states["log_scale_upper"].astype("float64").round(SCALE_DECIMALS),
            "n_updates": states["n_updates"].astype("int64"),
            "date": day,
            "model_name": model_name,
            "created_at": pd.Timestamp.now(tz="UTC"),
        }
    )
    return frame[list(SCHEMA.names)].sort_values(["symbol", "horizon"], ignore_index=True)


class ScalesTable(Table):
    def __init__(self, backend: StorageBackend) -> None:
        super().__init__(backend, TABLE_NAME, SCHEMA, kept_across_days=True)

    def write(self, frame: pd.DataFrame, metadata: dict[str, str] | None = None) -> WriteResult:
        """Upsert: re-running a day's monitoring changes nothing."""
        return self.upsert(frame, keys=KEY, compare=_COMPARED, metadata=metadata)

    def read_rows(
        self,
        symbols: Iterable[str] | None = None,
        model_name: str | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pd.DataFrame:
        """Every stored state dated in [start, end]."""
        conditions = [*matching(symbols, model_name), *date_range("date", start, end)]
        return self.select(conditions, order=ORDER)

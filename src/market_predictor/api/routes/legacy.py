"""The original system's three routes, with their paths and JSON shapes unchanged, so
its clients keep working. Like the original, a month without rows is a 404. The
original forecast the next trading day only, so these serve horizon 1 and nothing else:
a month's list of target dates mixed with 5- and 21-day forecasts would repeat dates."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from market_predictor.api.deps import DateRange, SnapshotDep, SymbolPath, symbol_data
from market_predictor.api.routes import window
from market_predictor.api.schemas import (
    AvailableSymbols,
    ErrorBody,
    LegacyMetrics,
    LegacyPredictions,
)
from market_predictor.api.snapshot import Series

router = APIRouter(tags=["original routes"], responses={404: {"model": ErrorBody}})

NEXT_DAY = 1

Year = Annotated[int, Path(ge=1900, le=2200, description="Year of the target dates")]
Month = Annotated[int, Path(ge=1, le=12, description="Month of the target dates (1-12)")]


def _month_rows(series: Series, year: int, month: int, missing: str) -> list[Any]:
    """The rows dated in a calendar month; an empty month is a 404, as in the original."""
    last = calendar.monthrange(year, month)[1]
    i, j = window(series, DateRange(dt.date(year, month, 1), dt.date(year, month, last)))
    if i == j:
        raise HTTPException(404, f"{missing} in {year}-{month:02d}")
    return series.rows[i:j]


@router.get(
    "/available_stock_symbols",
    response_model=AvailableSymbols,
    summary="Symbols with predictions (original shape)",
)
async def available_stock_symbols(snapshot: SnapshotDep) -> AvailableSymbols:
    return AvailableSymbols(values=[info.symbol for info in snapshot.symbol_list.symbols])


@router.get(
    "/predictions/{symbol}/{year}/{month}",
    response_model=LegacyPredictions,
    summary="A month of predicted closes by target date (original shape)",
)
async def month_predictions(
    symbol: SymbolPath, year: Year, month: Month, snapshot: SnapshotDep
) -> LegacyPredictions:
    data = symbol_data(snapshot, symbol)
    rows = _month_rows(
        data.at(NEXT_DAY).predictions, year, month, f"no predictions for {data.symbol}"
    )
    return LegacyPredictions(
        datetime=[row.target_date for row in rows],
        prediction=[row.predicted_close for row in rows],
    )


@router.get(
    "/metrics/{symbol}/{year}/{month}",
    response_model=LegacyMetrics,
    summary="A month of absolute errors by target date (original shape)",
)
async def month_metrics(
    symbol: SymbolPath, year: Year, month: Month, snapshot: SnapshotDep
) -> LegacyMetrics:
    data = symbol_data(snapshot, symbol)
    rows = _month_rows(
        data.at(NEXT_DAY).errors, year, month, f"no realised errors for {data.symbol}"
    )
    return LegacyMetrics(
        datetime=[row.target_date for row in rows], metric=[row.abs_error for row in rows]
    )

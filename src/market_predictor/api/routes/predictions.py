"""GET /predictions/{symbol} (a date range of served forecasts with their outcomes) and
GET /predictions/{symbol}/latest."""

from __future__ import annotations

from fastapi import APIRouter

from market_predictor.api.deps import LimitQuery, RangeDep, SnapshotDep, SymbolPath, symbol_data
from market_predictor.api.routes import window
from market_predictor.api.schemas import ErrorBody, LatestPrediction, PredictionList

router = APIRouter(tags=["predictions"], responses={404: {"model": ErrorBody}})


@router.get(
    "/predictions/{symbol}",
    response_model=PredictionList,
    summary="Forecasts whose target date is in [start, end]",
)
async def predictions(
    symbol: SymbolPath, snapshot: SnapshotDep, dates: RangeDep, limit: LimitQuery = None
) -> PredictionList:
    data = symbol_data(snapshot, symbol)
    i, j = window(data.predictions, dates, limit)
    return PredictionList.model_construct(
        symbol=data.symbol,
        start=dates.start,
        end=dates.end,
        count=j - i,
        predictions=data.predictions.rows[i:j],
    )


@router.get(
    "/predictions/{symbol}/latest",
    response_model=LatestPrediction,
    summary="The next trading day's forecast and the newest realised one",
)
async def latest(symbol: SymbolPath, snapshot: SnapshotDep) -> LatestPrediction:
    data = symbol_data(snapshot, symbol)
    assert data.latest is not None  # every symbol with predictions has one
    return data.latest

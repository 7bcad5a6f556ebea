"""GET /predictions/{symbol} (a date range of served forecasts with their outcomes) and
GET /predictions/{symbol}/latest. Bodies are serialised once per data version and
range, then served as bytes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from market_predictor.api.deps import (
    EndQuery,
    LimitQuery,
    SnapshotDep,
    StartQuery,
    SymbolPath,
    checked_range,
    prepared,
    symbol_data,
)
from market_predictor.api.routes import json_of, window
from market_predictor.api.schemas import ErrorBody, LatestPrediction, PredictionList

router = APIRouter(tags=["predictions"], responses={404: {"model": ErrorBody}})


@router.get(
    "/predictions/{symbol}",
    response_model=PredictionList,
    summary="Forecasts whose target date is in [start, end]",
)
async def predictions(
    symbol: SymbolPath,
    snapshot: SnapshotDep,
    start: StartQuery = None,
    end: EndQuery = None,
    limit: LimitQuery = None,
) -> Response:
    dates = checked_range(start, end)
    data = symbol_data(snapshot, symbol)
    i, j = window(data.predictions, dates, limit)
    body = data.memoised(
        ("predictions", i, j, start, end),
        lambda: json_of(
            PredictionList.model_construct(
                symbol=data.symbol,
                start=start,
                end=end,
                count=j - i,
                predictions=data.predictions.rows[i:j],
            )
        ),
    )
    return prepared(snapshot, body)


@router.get(
    "/predictions/{symbol}/latest",
    response_model=LatestPrediction,
    summary="The next trading day's forecast and the newest realised one",
)
async def latest(symbol: SymbolPath, snapshot: SnapshotDep) -> Response:
    data = symbol_data(snapshot, symbol)
    latest = data.latest
    assert latest is not None  # every symbol with predictions has one
    return prepared(snapshot, data.memoised(("latest",), lambda: json_of(latest)))

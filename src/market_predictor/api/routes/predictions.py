"""GET /predictions/{symbol} (a date range of served forecasts at one horizon with their
outcomes) and GET /predictions/{symbol}/latest (the newest forecast at one horizon, and
every horizon's forecast made that day). Bodies are serialised once per data version,
horizon and range, then served as bytes."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from market_predictor.api.deps import (
    EndQuery,
    HorizonQuery,
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
    summary="Forecasts at one horizon whose target date is in [start, end]",
)
async def predictions(
    symbol: SymbolPath,
    snapshot: SnapshotDep,
    start: StartQuery = None,
    end: EndQuery = None,
    limit: LimitQuery = None,
    horizon: HorizonQuery = 1,
) -> Response:
    dates = checked_range(start, end)
    data = symbol_data(snapshot, symbol)
    served = data.at(horizon).predictions
    i, j = window(served, dates, limit)
    body = data.memoised(
        ("predictions", horizon, i, j, start, end),
        lambda: json_of(
            PredictionList.model_construct(
                symbol=data.symbol,
                horizon=horizon,
                start=start,
                end=end,
                count=j - i,
                predictions=served.rows[i:j],
            )
        ),
    )
    return prepared(snapshot, body)


@router.get(
    "/predictions/{symbol}/latest",
    response_model=LatestPrediction,
    summary="The newest forecast at one horizon, the newest realised one, and every "
    "horizon's forecast from the newest as-of date (a fan chart's data)",
)
async def latest(symbol: SymbolPath, snapshot: SnapshotDep, horizon: HorizonQuery = 1) -> Response:
    data = symbol_data(snapshot, symbol)
    latest = data.at(horizon).latest
    if latest is None:
        raise HTTPException(404, f"no {horizon}-day forecasts stored for {data.symbol}")
    return prepared(snapshot, data.memoised(("latest", horizon), lambda: json_of(latest)))

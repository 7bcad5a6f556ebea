"""GET /prices/{symbol}: stored daily prices for charts, serialised once per data
version and range."""

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
from market_predictor.api.schemas import ErrorBody, PriceList

router = APIRouter(tags=["prices"], responses={404: {"model": ErrorBody}})


@router.get("/prices/{symbol}", response_model=PriceList, summary="Prices dated in [start, end]")
async def prices(
    symbol: SymbolPath,
    snapshot: SnapshotDep,
    start: StartQuery = None,
    end: EndQuery = None,
    limit: LimitQuery = None,
) -> Response:
    dates = checked_range(start, end)
    data = symbol_data(snapshot, symbol, "prices")
    i, j = window(data.prices, dates, limit)
    body = data.memoised(
        ("prices", i, j, start, end),
        lambda: json_of(
            PriceList.model_construct(
                symbol=data.symbol, start=start, end=end, count=j - i, prices=data.prices.rows[i:j]
            )
        ),
    )
    return prepared(snapshot, body)

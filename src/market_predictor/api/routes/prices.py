"""GET /prices/{symbol}: stored daily prices for charts."""

from __future__ import annotations

from fastapi import APIRouter

from market_predictor.api.deps import LimitQuery, RangeDep, SnapshotDep, SymbolPath, symbol_data
from market_predictor.api.routes import window
from market_predictor.api.schemas import ErrorBody, PriceList

router = APIRouter(tags=["prices"], responses={404: {"model": ErrorBody}})


@router.get("/prices/{symbol}", response_model=PriceList, summary="Prices dated in [start, end]")
async def prices(
    symbol: SymbolPath, snapshot: SnapshotDep, dates: RangeDep, limit: LimitQuery = None
) -> PriceList:
    data = symbol_data(snapshot, symbol, "prices")
    i, j = window(data.prices, dates, limit)
    return PriceList.model_construct(
        symbol=data.symbol,
        start=dates.start,
        end=dates.end,
        count=j - i,
        prices=data.prices.rows[i:j],
    )

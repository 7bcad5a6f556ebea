"""GET /symbols and GET /overview: what is forecast (at which horizons), and one row
per symbol for a dashboard's front page."""

from __future__ import annotations

from fastapi import APIRouter

from market_predictor.api.deps import HorizonQuery, SnapshotDep
from market_predictor.api.schemas import Overview, SymbolList

router = APIRouter(tags=["symbols"])


@router.get("/symbols", response_model=SymbolList, summary="Symbols with predictions")
async def symbols(snapshot: SnapshotDep) -> SymbolList:
    return snapshot.symbol_list


@router.get(
    "/overview",
    response_model=Overview,
    summary="Per symbol: last close, newest forecast and rolling skill at one horizon, the "
    "retrain flag, and every horizon's forecast and skill",
)
async def overview(snapshot: SnapshotDep, horizon: HorizonQuery = 1) -> Overview:
    return snapshot.overview(horizon)

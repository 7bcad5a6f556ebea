"""GET /symbols and GET /overview: what is forecast, and one row per symbol for a
dashboard's front page."""

from __future__ import annotations

from fastapi import APIRouter

from market_predictor.api.deps import SnapshotDep
from market_predictor.api.schemas import Overview, SymbolList

router = APIRouter(tags=["symbols"])


@router.get("/symbols", response_model=SymbolList, summary="Symbols with predictions")
async def symbols(snapshot: SnapshotDep) -> SymbolList:
    return snapshot.symbol_list


@router.get(
    "/overview",
    response_model=Overview,
    summary="Per symbol: last close, next forecast, rolling skill, retrain flag",
)
async def overview(snapshot: SnapshotDep) -> Overview:
    return snapshot.overview

"""GET /models (every registered version) and GET /models/champion."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from market_predictor.api.deps import SnapshotDep
from market_predictor.api.schemas import ChampionInfo, ErrorBody, ModelList

router = APIRouter(tags=["models"], responses={404: {"model": ErrorBody}})


@router.get("/models", response_model=ModelList, summary="Every version with aliases and gate")
async def models(snapshot: SnapshotDep) -> ModelList:
    if snapshot.models is None:
        raise HTTPException(404, "no model registered: run `mpp train` first")
    return snapshot.models


@router.get(
    "/models/champion",
    response_model=ChampionInfo,
    summary="The champion: lineage, validation beside the baselines, gate history",
)
async def champion(snapshot: SnapshotDep) -> ChampionInfo:
    if snapshot.champion is None:
        raise HTTPException(404, "no champion registered: run `mpp train` first")
    return snapshot.champion

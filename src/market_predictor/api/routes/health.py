"""GET /health: open to everyone (no token), never cached."""

from __future__ import annotations

from fastapi import APIRouter

from market_predictor import __version__
from market_predictor.api.deps import CacheDep, SettingsDep
from market_predictor.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Service, store and champion status")
async def health(cache: CacheDep, settings: SettingsDep) -> Health:
    snapshot = cache.snapshot
    return Health(
        status="ok" if cache.store_reachable else "degraded",
        version=__version__,
        model_name=settings.model_name,
        champion_version=snapshot.champion.version if snapshot.champion else None,
        store_reachable=cache.store_reachable,
        as_of=snapshot.as_of,
        data_versions=snapshot.versions,
    )

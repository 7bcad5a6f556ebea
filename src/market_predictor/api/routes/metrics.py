"""GET /metrics/{symbol}: realised errors at one horizon in a range, their skill against
persistence, and the horizon's daily monitoring rows (rolling MASE, coverage, the
retrain flag). Bodies are computed and serialised once per data version, horizon and
range."""

from __future__ import annotations

from fastapi import APIRouter, Response

from market_predictor.api.deps import (
    DateRange,
    EndQuery,
    HorizonQuery,
    SnapshotDep,
    StartQuery,
    SymbolPath,
    checked_range,
    prepared,
    symbol_data,
)
from market_predictor.api.routes import json_of, window
from market_predictor.api.schemas import ErrorBody, MetricsReport
from market_predictor.api.snapshot import HorizonData, Snapshot
from market_predictor.monitoring import rolling_skill
from market_predictor.store.summary import SymbolSkill, Verdict

router = APIRouter(tags=["metrics"], responses={404: {"model": ErrorBody}})


@router.get(
    "/metrics/{symbol}",
    response_model=MetricsReport,
    summary="Daily realised errors and skill at one horizon for target dates in [start, end]",
)
async def metrics(
    symbol: SymbolPath,
    snapshot: SnapshotDep,
    start: StartQuery = None,
    end: EndQuery = None,
    horizon: HorizonQuery = 1,
) -> Response:
    dates = checked_range(start, end)
    data = symbol_data(snapshot, symbol)
    at = data.at(horizon)
    body = data.memoised(
        ("metrics", horizon, start, end),
        lambda: _report(snapshot, data.symbol, horizon, at, dates),
    )
    return prepared(snapshot, body)


def _report(
    snapshot: Snapshot, symbol: str, horizon: int, data: HorizonData, dates: DateRange
) -> bytes:
    i, j = window(data.errors, dates)
    di, dj = window(data.daily, dates)
    return json_of(
        MetricsReport.model_construct(
            symbol=symbol,
            horizon=horizon,
            start=dates.start,
            end=dates.end,
            model_name=snapshot.model_name,
            summary=_summary(data, i, j, di, dj),
            errors=data.errors.rows[i:j],
            daily=data.daily.rows[di:dj],
        )
    )


def _summary(data: HorizonData, i: int, j: int, di: int, dj: int) -> SymbolSkill:
    """Skill over errors [i, j); the trigger tests and retrain decision of the newest
    daily row."""
    skill = rolling_skill(data.error_frame.iloc[i:j], window=j - i) if j > i else {"n": 0}
    newest = data.daily.rows[dj - 1] if dj > di else None
    verdict = {name: getattr(newest, name) for name in Verdict.model_fields} if newest else {}
    return SymbolSkill(**skill, **verdict)

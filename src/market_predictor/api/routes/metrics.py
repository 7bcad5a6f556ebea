"""GET /metrics/{symbol}: realised errors in a range, their skill against persistence,
and the daily monitoring rows (rolling MASE, coverage, the retrain flag)."""

from __future__ import annotations

from fastapi import APIRouter

from market_predictor.api.cache import SymbolData
from market_predictor.api.deps import RangeDep, SnapshotDep, SymbolPath, symbol_data
from market_predictor.api.routes import window
from market_predictor.api.schemas import ErrorBody, MetricsReport
from market_predictor.monitoring import rolling_skill
from market_predictor.results import SymbolSkill

router = APIRouter(tags=["metrics"], responses={404: {"model": ErrorBody}})


@router.get(
    "/metrics/{symbol}",
    response_model=MetricsReport,
    summary="Daily realised errors and skill for target dates in [start, end]",
)
async def metrics(symbol: SymbolPath, snapshot: SnapshotDep, dates: RangeDep) -> MetricsReport:
    data = symbol_data(snapshot, symbol)
    i, j = window(data.errors, dates)
    di, dj = window(data.daily, dates)
    summary = data.memoised(("summary", i, j, di, dj), lambda: _summary(data, i, j, di, dj))
    return MetricsReport.model_construct(
        symbol=data.symbol,
        start=dates.start,
        end=dates.end,
        model_name=snapshot.overview.model_name,
        summary=summary,
        errors=data.errors.rows[i:j],
        daily=data.daily.rows[di:dj],
    )


def _summary(data: SymbolData, i: int, j: int, di: int, dj: int) -> SymbolSkill:
    """Skill over errors [i, j); drift and the retrain decision of the newest daily row."""
    skill = rolling_skill(data.error_frame.iloc[i:j], window=j - i) if j > i else {"n": 0}
    newest = data.daily.rows[dj - 1] if dj > di else None
    return SymbolSkill(
        **skill,
        psi_max=newest.psi_max if newest else None,
        psi_feature=newest.psi_feature if newest else None,
        retrain_recommended=newest.retrain_recommended if newest else False,
        reason=newest.reason if newest else "",
    )

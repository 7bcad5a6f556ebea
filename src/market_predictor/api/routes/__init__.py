"""One router per resource; app.py mounts them under /api/v1."""

from __future__ import annotations

from pydantic import BaseModel

from market_predictor.api.deps import MAX_ROWS, DateRange
from market_predictor.api.snapshot import Series


def window(series: Series, dates: DateRange, limit: int | None = None) -> tuple[int, int]:
    """[i, j) of the rows in the range, keeping the newest `limit` (at most MAX_ROWS)."""
    i, j = series.bounds(dates.start, dates.end)
    return max(i, j - min(limit or MAX_ROWS, MAX_ROWS)), j


def json_of(model: BaseModel) -> bytes:
    """The body FastAPI would send for `model` as a response model (pydantic, in Rust)."""
    return model.__pydantic_serializer__.to_json(model)

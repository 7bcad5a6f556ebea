"""The base of every typed record: stage results, table rows, API bodies.

Pydantic only, so anything may import it cheaply. Floats that are undefined (NaN, e.g.
MASE over zero realised errors) serialise as null.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class Result(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="null", validate_assignment=False)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings, NaN as None)."""
        return self.model_dump(mode="json")


def finite_or_none(value: Any) -> Any:
    """NaN/inf (and numpy scalars of them) -> None; numpy scalars -> Python scalars."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class OptionalFloatsModel(Result):
    @field_validator("*", mode="before")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        return finite_or_none(value)

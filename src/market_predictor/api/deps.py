"""Dependencies every route shares: the settings, the data snapshot (behind the
bearer-token check, with its ETag and the If-None-Match check), the symbol lookup and
date ranges.

All are `async def` (FastAPI runs sync dependencies in a thread pool) and few: each
dependency level costs FastAPI more per request than slicing the data does, so the
token check and the snapshot are one dependency and ranges are plain query parameters.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from market_predictor.api.cache import DataCache
from market_predictor.api.snapshot import Snapshot, SymbolData
from market_predictor.checks import check_range
from market_predictor.config import Settings
from market_predictor.errors import InputError

# The longest date range one request may ask for (about ten years), and the most rows
# a list response holds; both are documented in docs/api.md.
MAX_RANGE_DAYS = 3660
MAX_ROWS = 2600

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <key>`, one of MPP_API_KEY's comma-separated keys "
    "(only when MPP_API_KEY is set).",
)


class NotModifiedError(Exception):
    """The client's If-None-Match matches the current data: answer 304."""

    def __init__(self, etag: str) -> None:
        self.etag = etag


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_cache(request: Request) -> DataCache:
    cache: DataCache = request.app.state.cache
    return cache


def check_key(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    """401 without a token or with a wrong one. Every key is compared in constant time,
    so neither timing nor the answer tells which key (if any) came close."""
    keys: list[bytes] = request.app.state.api_keys
    if not keys:
        return
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    given = credentials.credentials.encode("utf-8", "surrogateescape")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key)
    if not matched:
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


async def current_snapshot(
    request: Request,
    response: Response,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Snapshot:
    """The snapshot this request is answered from, once the token checks out; 304 when
    the client has it already."""
    check_key(request, credentials)
    cache: DataCache = request.app.state.cache
    snapshot = cache.snapshot
    if _matches(request.headers.get("if-none-match"), snapshot.etag):
        raise NotModifiedError(snapshot.etag)
    response.headers["ETag"] = snapshot.etag
    return snapshot


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


SettingsDep = Annotated[Settings, Depends(get_settings)]
CacheDep = Annotated[DataCache, Depends(get_cache)]
SnapshotDep = Annotated[Snapshot, Depends(current_snapshot)]

SymbolPath = Annotated[
    str, Path(min_length=1, max_length=32, description="Ticker, e.g. AAPL (case-insensitive)")
]


HorizonQuery = Annotated[
    int,
    Query(
        ge=1,
        description="Forecast horizon in trading days (1 = the next trading day; the "
        "daily job forecasts 1, 5 and 21). A horizon without stored forecasts has no rows.",
    ),
]


def symbol_data(
    snapshot: Snapshot, symbol: str, need: Literal["predictions", "prices"] = "predictions"
) -> SymbolData:
    """The symbol's prepared rows; 404 when it has none of what the route serves (a
    symbol is known by its forecasts at any horizon)."""
    data = snapshot.symbols.get(symbol.upper())
    known = data is not None and bool(data.prices.rows if need == "prices" else data.fan)
    if data is None or not known:
        raise HTTPException(404, f"unknown symbol {symbol.upper()!r}: no stored {need}")
    return data


@dataclass(frozen=True)
class DateRange:
    start: dt.date | None
    end: dt.date | None


StartQuery = Annotated[
    dt.date | None, Query(description="First day, inclusive (YYYY-MM-DD; default: open)")
]
EndQuery = Annotated[
    dt.date | None, Query(description="Last day, inclusive (YYYY-MM-DD; default: open)")
]
LimitQuery = Annotated[
    int | None,
    Query(ge=1, le=MAX_ROWS, description=f"Keep the newest N rows (1-{MAX_ROWS})"),
]


def checked_range(start: dt.date | None, end: dt.date | None) -> DateRange:
    """The range, or a 422 naming the parameter: inverted, or longer than the cap."""
    try:
        check_range(start, end)
    except InputError as exc:
        raise _invalid(exc.param or "start", str(exc)) from None
    if start is not None and end is not None and (end - start).days > MAX_RANGE_DAYS:
        raise _invalid("end", f"a range may span at most {MAX_RANGE_DAYS} days")
    return DateRange(start, end)


async def known_query_only(request: Request) -> None:
    """422 for a query parameter the route does not take: a typo such as `?horizn=5`
    would otherwise be ignored and answer for the default without a word."""
    from fastapi.dependencies.utils import get_flat_dependant

    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {param.alias for param in get_flat_dependant(dependant).query_params}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise _invalid(unknown[0], f"unknown query parameter (this route takes: {allowed})")


def _invalid(name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", name), "msg": message, "type": "value_error"}])


class JSONBytes(Response):
    """A body serialised once per data version (by the route's response model)."""

    media_type = "application/json"


def prepared(snapshot: Snapshot, body: bytes) -> JSONBytes:
    return JSONBytes(body, headers={"ETag": snapshot.etag})

"""The FastAPI application: `create_app()` builds it (nothing happens at import).

Routes live under /api/v1 with docs at /api/v1/docs; all but /health need a bearer
token when MPP_API_KEY is set. The data cache loads when the app starts and polls
the store's versions in the background until it stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from market_predictor import __version__
from market_predictor.api.cache import DataCache
from market_predictor.api.deps import NotModifiedError, known_query_only
from market_predictor.api.logging import AccessLogMiddleware
from market_predictor.api.routes import (
    health,
    legacy,
    metrics,
    models,
    predictions,
    prices,
    symbols,
)
from market_predictor.api.schemas import ErrorBody, ValidationErrorBody
from market_predictor.config import Settings, get_settings

PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, cache: DataCache | None = None) -> FastAPI:
    settings = settings or get_settings()
    data = cache or DataCache(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        data.start()
        try:
            yield
        finally:
            data.stop()

    app = FastAPI(
        title="Market Price Predictor",
        version=__version__,
        description="Next-day closing price forecasts, their realised errors and the models "
        "behind them. See docs/api.md.",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{PREFIX}/openapi.json",
        lifespan=lifespan,
        responses={422: {"model": ValidationErrorBody}},
    )
    app.state.settings = settings
    app.state.cache = data
    app.state.api_keys = [key.encode("utf-8") for key in settings.api_keys]

    strict_query = [Depends(known_query_only)]
    app.include_router(health.router, prefix=PREFIX, dependencies=strict_query)
    # Every other route takes the snapshot, which checks the bearer token first.
    for module in (symbols, predictions, metrics, prices, models, legacy):
        app.include_router(
            module.router,
            prefix=PREFIX,
            responses={401: {"model": ErrorBody}},
            dependencies=strict_query,
        )

    _error_handlers(app)
    app.add_middleware(AccessLogMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET"],
            allow_headers=["Authorization", "If-None-Match"],
            expose_headers=["ETag"],
        )
    return app


def _error_handlers(app: FastAPI) -> None:
    """JSON bodies for every error; nothing echoes headers or a stack trace."""

    @app.exception_handler(NotModifiedError)
    async def not_modified(request: Request, exc: NotModifiedError) -> Response:
        return Response(status_code=304, headers={"ETag": exc.etag})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            ErrorBody(detail=str(exc.detail)).model_dump(),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "loc": [str(part) if not isinstance(part, int) else part for part in e["loc"]],
                "msg": str(e.get("msg", "invalid value")),
                "type": str(e.get("type", "value_error")),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "internal error"}, status_code=500)

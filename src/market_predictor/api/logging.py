"""Structured access logs: one JSON line per request with the route template (never
the raw path or query), the status and the duration. Headers are never read here,
so a bearer token cannot reach the log."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("market_predictor.api.access")


class AccessLogMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): it adds microseconds, not a task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            access_log.info(
                json.dumps(
                    {
                        "method": scope["method"],
                        "route": getattr(route, "path", None) or "unmatched",
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 3),
                    }
                )
            )


def uvicorn_log_config() -> dict[str, Any]:
    """Logging for every uvicorn worker process: our JSON access lines as they are,
    uvicorn's own messages plain, and uvicorn's access log off (it would print raw
    paths with their query strings and duplicate ours)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(levelname)s %(name)s: %(message)s"},
            "json": {"format": "%(message)s"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "market_predictor.api.access": {
                "handlers": ["access"],
                "level": "INFO",
                "propagate": False,
            },
            "market_predictor.api": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }

"""The dashboard's one way to the data: an HTTP client of the API (never the store).

`ApiClient` is plain httpx: it sends the bearer token, revalidates what it fetched
before with `If-None-Match` (a 304 reuses the body it already holds) and turns every
failure into one of a few typed errors whose message a user can act on. `fetch` wraps
it in Streamlit's data cache with a short TTL, so a page rerun (every widget change)
costs nothing and an expired entry costs one conditional request.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

API_PREFIX = "/api/v1"
DEFAULT_API_URL = "http://127.0.0.1:8001"
# Short enough that a finished daily run shows within a minute, long enough that
# clicking around a page does not hit the API for every widget change.
CACHE_TTL_SECONDS = 30

Params = Mapping[str, str | int | None]


class DashboardSettings(BaseSettings):
    """Where the API is and how to authenticate (MPP_API_URL, MPP_API_KEY)."""

    model_config = SettingsConfigDict(
        env_prefix="MPP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    api_url: str = Field(DEFAULT_API_URL, description="Base URL of the API (without /api/v1).")
    api_key: str | None = Field(
        None, description="The API's bearer token(s); the dashboard sends the first."
    )
    api_timeout: float = Field(10.0, description="Seconds to wait for one API response.")

    @property
    def token(self) -> str | None:
        """MPP_API_KEY may list several accepted tokens (comma-separated); one is enough."""
        if not self.api_key:
            return None
        tokens = [t.strip() for t in self.api_key.split(",") if t.strip()]
        return tokens[0] if tokens else None


class ApiError(Exception):
    """A request the dashboard could not complete; `str()` is the message to show."""


class ApiUnavailableError(ApiError):
    """The API did not answer (not started, wrong URL, timed out) or failed (5xx)."""


class ApiAuthError(ApiError):
    """The API refused the request: no token, or not one of its keys (401/403)."""


class NoDataError(ApiError):
    """The API has nothing for this request (unknown symbol, nothing predicted yet)."""


class ApiClient:
    """GET JSON from the API with the token, ETag revalidation and typed errors."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        self.sends_token = bool(token)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        # url -> (etag, body): bodies we may reuse when the API answers 304.
        self._validated: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()
        self.not_modified = 0  # how many answers were 304 (the cache worked)

    def get(self, path: str, params: Params | None = None) -> Any:
        """The decoded JSON body of GET {base}/api/v1{path}?params."""
        url = _url(path, params)
        with self._lock:
            known = self._validated.get(url)
        headers = {"If-None-Match": known[0]} if known else {}
        try:
            response = self._http.get(url, headers=headers)
        except httpx.TimeoutException:
            raise ApiUnavailableError(
                f"The API at {self.base_url} did not answer in time. Is it overloaded? "
                "Reload the page to try again."
            ) from None
        except httpx.HTTPError as exc:
            raise ApiUnavailableError(
                f"The API at {self.base_url} is not reachable ({type(exc).__name__}). "
                "Start it with `mpp serve` (or `mpp up`), or point the dashboard at it "
                "with `mpp dashboard --api-url URL`."
            ) from None
        if response.status_code == 304 and known is not None:
            with self._lock:
                self.not_modified += 1
            return known[1]
        if response.status_code >= 400:
            raise _error_for(response, self.base_url, self.sends_token)
        try:
            body = response.json()
        except ValueError:
            raise ApiUnavailableError(
                f"The API at {self.base_url} answered {path} with something that is not "
                "JSON: is that URL really the Market Price Predictor API?"
            ) from None
        etag = response.headers.get("ETag")
        if etag:
            with self._lock:
                self._validated[url] = (etag, body)
        return body

    def close(self) -> None:
        self._http.close()


def _url(path: str, params: Params | None) -> str:
    query = {k: str(v) for k, v in sorted((params or {}).items()) if v is not None}
    return f"{API_PREFIX}{path}" + (f"?{urlencode(query)}" if query else "")


def _detail(response: httpx.Response) -> str:
    """FastAPI's `{"detail": ...}` as one line, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # validation errors: [{"loc": [...], "msg": ...}]
        return "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        )
    return str(detail)


def _error_for(response: httpx.Response, base_url: str, sent_token: bool) -> ApiError:
    status, detail = response.status_code, _detail(response)
    if status in (401, 403) and not sent_token:
        return ApiAuthError(
            "The API requires a token and the dashboard has none: set MPP_API_KEY to one of "
            f"the API's keys where the dashboard runs ({detail})."
        )
    if status in (401, 403):
        return ApiAuthError(
            "The API refused the dashboard's token: MPP_API_KEY here is not one of the API's "
            f"keys ({detail})."
        )
    if status == 404:
        return NoDataError(detail or "nothing found")
    if status >= 500:
        return ApiUnavailableError(
            f"The API at {base_url} failed on this request ({status}: {detail}). "
            "Its log has the details."
        )
    return ApiError(f"The API rejected the request ({status}): {detail}")


# -- Streamlit caching --------------------------------------------------------------------


@functools.cache
def _streamlit_cached() -> tuple[Any, Any]:
    """The cached client and fetch, built on first use so importing this module does not
    need a Streamlit runtime (the CLI and unit tests import it)."""
    import streamlit as st

    @st.cache_resource(show_spinner=False)
    def client_for(base_url: str, token: str | None, timeout: float) -> ApiClient:
        return ApiClient(base_url, token, timeout)

    @st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=512)
    def cached_get(
        base_url: str, token: str | None, timeout: float, path: str, params: tuple[Any, ...]
    ) -> Any:
        # Errors are not cached by Streamlit: a page shows the API again once it is back.
        return client_for(base_url, token, timeout).get(path, dict(params))

    return client_for, cached_get


def fetch(
    path: str, params: Params | None = None, settings: DashboardSettings | None = None
) -> Any:
    """GET through Streamlit's cache (TTL CACHE_TTL_SECONDS, then ETag revalidation)."""
    settings = settings or DashboardSettings()
    items = tuple(sorted((k, v) for k, v in (params or {}).items() if v is not None))
    return _streamlit_cached()[1](
        settings.api_url.rstrip("/"), settings.token, settings.api_timeout, path, items
    )

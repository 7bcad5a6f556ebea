"""What every page shares: loading through the cached client with a spinner, and API
failures shown as one clear message that ends the page (never a stack trace)."""

from __future__ import annotations

from typing import Any, NoReturn

import streamlit as st

from market_predictor.dashboard.client import (
    ApiAuthError,
    ApiError,
    ApiUnavailableError,
    NoDataError,
    Params,
    fetch,
)


def stop_with(exc: ApiError) -> NoReturn:
    if isinstance(exc, ApiUnavailableError):
        st.error(f"**API unavailable.** {exc}", icon=":material/cloud_off:")
    elif isinstance(exc, ApiAuthError):
        st.error(f"**Not authorised.** {exc}", icon=":material/lock:")
    elif isinstance(exc, NoDataError):
        st.info(f"**No data.** {exc}", icon=":material/info:")
    else:
        st.error(str(exc), icon=":material/error:")
    st.stop()
    raise AssertionError("st.stop() returned")  # pragma: no cover  (it raises)


def load(what: str, path: str, params: Params | None = None) -> Any:
    """The API's body for `path`; any failure ends the page with its message."""
    try:
        with st.spinner(f"Loading {what}…"):
            return fetch(path, params)
    except ApiError as exc:
        stop_with(exc)


def load_optional(what: str, path: str, params: Params | None = None) -> Any | None:
    """Like `load`, but "nothing there yet" (404) is None instead of the end of the page."""
    try:
        with st.spinner(f"Loading {what}…"):
            return fetch(path, params)
    except NoDataError:
        return None
    except ApiError as exc:
        stop_with(exc)


def number(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def percent(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"

"""Daily bars from Yahoo Finance through `yfinance` (the default source with internet).

Prices come split- and dividend-adjusted (`auto_adjust=True`, yfinance's default).
Transient failures (HTTP 5xx/429, dropped connections, an error page instead of JSON)
are retried with exponential backoff; an unknown or delisted symbol, or a range with
no bars, is an InputError naming the symbols.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from market_predictor.checks import first_line
from market_predictor.config import get_settings
from market_predictor.errors import InputError, MPPError
from market_predictor.sources.base import conform, describe_range, empty_frame

# The `prices` feature group holds daily bars; intraday bars need their own group.
SUPPORTED_INTERVALS = ("1d",)
_TRANSIENT_NAMES = frozenset(
    {
        "Timeout",
        "TimeoutError",
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "ChunkedEncodingError",
        "RemoteDisconnected",
        "ProxyError",
        "SSLError",
    }
)


class YahooSource:
    name = "yfinance"

    def __init__(
        self,
        session: Any | None = None,
        interval: str = "1d",
        retries: int | None = None,
        backoff_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`retries` and `backoff_seconds` default to MPP_YAHOO_RETRIES and
        MPP_YAHOO_BACKOFF_SECONDS."""
        if interval not in SUPPORTED_INTERVALS:
            raise InputError(
                f"interval {interval!r} is not supported: the prices feature group holds "
                f"daily bars only (use {', '.join(SUPPORTED_INTERVALS)})"
            )
        settings = get_settings()
        self.session = session
        self.interval = interval
        self.retries = settings.yahoo_retries if retries is None else retries
        self.backoff_seconds = (
            settings.yahoo_backoff_seconds if backoff_seconds is None else backoff_seconds
        )
        self.sleep = sleep

    def fetch(self, symbols: list[str], start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
        frames: list[pd.DataFrame] = []
        missing: list[str] = []
        for symbol in symbols:
            frame = self._fetch_with_retry(symbol, start, end)
            if frame is None or frame.empty:
                missing.append(symbol)
            else:
                frames.append(frame)
        if missing:
            raise InputError(
                f"Yahoo Finance returned no daily prices for {', '.join(missing)} "
                f"{describe_range(start, end)} (unknown or delisted symbol, or no trading days)"
            )
        if not frames:
            return empty_frame()
        return conform(pd.concat(frames, ignore_index=True), adjusted=True)

    def _fetch_with_retry(
        self, symbol: str, start: dt.date | None, end: dt.date | None
    ) -> pd.DataFrame | None:
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=self.backoff_seconds),
            retry=retry_if_exception(lambda exc: _classify(exc) == "transient"),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(self._history, symbol, start, end)
        except Exception as exc:
            verdict = _classify(exc)
            if verdict == "missing":
                return None
            if verdict == "fatal":
                raise MPPError(f"Yahoo Finance failed for {symbol}: {first_line(exc)}") from exc
            raise MPPError(
                f"Yahoo Finance kept failing for {symbol} after {self.retries + 1} attempts: "
                f"{first_line(exc)}"
            ) from exc

    def _history(self, symbol: str, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
        import yfinance as yf
        from yfinance.data import YfData

        # yfinance memoises responses for past ranges; a retry must reach the server again.
        YfData.cache_get.cache_clear()
        ticker = yf.Ticker(symbol, session=self.session)
        arguments: dict[str, Any] = {
            "interval": self.interval,
            "auto_adjust": True,
            "actions": False,
            "timeout": 20,
        }
        if start is None:
            arguments["period"] = "max"
        else:
            arguments["start"] = start.isoformat()
        if end is not None:
            # yfinance's end is exclusive; ours is the inclusive as-of day.
            arguments["end"] = (end + dt.timedelta(days=1)).isoformat()
        with _raising_yfinance():
            history = ticker.history(**arguments)
        return _to_source_frame(symbol, history)


def _to_source_frame(symbol: str, history: pd.DataFrame) -> pd.DataFrame:
    if history is None or history.empty:
        return empty_frame()
    index = pd.DatetimeIndex(history.index)
    if index.tz is not None:
        # Yahoo stamps a daily bar with the exchange-local session open; keep that date.
        index = index.tz_localize(None)
    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "date": index.normalize(),
            "open": history["Open"].to_numpy(),
            "high": history["High"].to_numpy(),
            "low": history["Low"].to_numpy(),
            "close": history["Close"].to_numpy(),
            "volume": history["Volume"].to_numpy(),
        }
    )
    return frame


@contextlib.contextmanager
def _raising_yfinance() -> Iterator[None]:
    """Make yfinance raise instead of logging and returning an empty frame, so a network
    failure is told apart from a symbol that does not exist; and keep its pandas
    deprecation chatter off the user's terminal."""
    import yfinance as yf

    previous = yf.config.debug.hide_exceptions
    yf.config.debug.hide_exceptions = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        yf.config.debug.hide_exceptions = previous


def _classify(exc: BaseException) -> str:
    """'missing' (no such symbol or no bars), 'transient' (retry) or 'fatal'."""
    from yfinance.exceptions import YFDataException, YFRateLimitError, YFTickerMissingError

    if isinstance(exc, YFTickerMissingError):
        return "missing"
    if isinstance(exc, YFRateLimitError):
        return "transient"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        if status == 429 or status >= 500:
            return "transient"
        if status == 404:
            return "missing"
        return "fatal"
    if isinstance(exc, json.JSONDecodeError) or type(exc).__name__ == "JSONDecodeError":
        return "transient"  # an HTML error page where JSON was due: a server-side hiccup
    if isinstance(exc, YFDataException) and "down" in str(exc).lower():
        return "transient"
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return "transient"
    if type(exc).__name__ in _TRANSIENT_NAMES:
        return "transient"
    return "fatal"

"""The API's data, in memory: every table read once per Delta version and cut into
per-symbol, date-sorted row lists, so a request only bisects and slices.

A background thread probes the tables' versions (the transaction log only) every
`MPP_API_POLL_SECONDS` and rebuilds the snapshot when one changed; the registry is
re-read when the data changed or every `MODELS_EVERY_SECONDS`. Requests never touch
storage: they read whichever snapshot is current, and its versions make the ETag.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, TypeAdapter

from market_predictor.api.models_info import read_models
from market_predictor.api.schemas import (
    ChampionInfo,
    DailySkill,
    ErrorRow,
    LatestPrediction,
    ModelList,
    Overview,
    OverviewRow,
    PredictionRow,
    PriceRow,
    SymbolInfo,
    SymbolList,
)
from market_predictor.config import Settings
from market_predictor.store import FeatureStore
from market_predictor.store.errors import Outcome, served
from market_predictor.store.prices import BAR_COLUMNS

log = logging.getLogger("market_predictor.api")

MODELS_EVERY_SECONDS = 30.0
# Responses computed from a slice (range summaries) are memoised per snapshot; the
# bound keeps a client walking every possible range from growing memory.
MEMO_LIMIT = 4096

Row = TypeVar("Row", bound=BaseModel)
T = TypeVar("T")

_OUTCOME_COLUMNS = list(Outcome.model_fields)


@dataclass
class Series:
    """Rows of one table for one symbol, sorted by `days` (date ordinals)."""

    rows: list[Any]
    days: np.ndarray

    def bounds(self, start: dt.date | None, end: dt.date | None) -> tuple[int, int]:
        """[i, j) of the rows dated in the inclusive range."""
        i = 0 if start is None else int(np.searchsorted(self.days, start.toordinal(), "left"))
        j = (
            len(self.rows)
            if end is None
            else int(np.searchsorted(self.days, end.toordinal(), "right"))
        )
        return i, max(i, j)

    @property
    def last_day(self) -> dt.date | None:
        return dt.date.fromordinal(int(self.days[-1])) if len(self.days) else None


def _empty() -> Series:
    return Series([], np.empty(0, dtype=np.int64))


@dataclass
class SymbolData:
    symbol: str
    prices: Series = field(default_factory=_empty)
    predictions: Series = field(default_factory=_empty)  # by target date
    errors: Series = field(default_factory=_empty)  # by target date
    error_frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    daily: Series = field(default_factory=_empty)  # monitoring summary, by date
    latest: LatestPrediction | None = None
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def memoised(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        if key not in self.memo:
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            self.memo[key] = make()
        return self.memo[key]


@dataclass
class Snapshot:
    versions: dict[str, int | None]
    symbols: dict[str, SymbolData]
    symbol_list: SymbolList
    overview: Overview
    as_of: dt.date | None
    models: ModelList | None = None
    champion: ChampionInfo | None = None
    etag: str = ""

    def tagged(self) -> Snapshot:
        models = self.models.model_dump_json() if self.models else ""
        digest = hashlib.blake2b(
            f"{sorted(self.versions.items())}|{models}".encode(), digest_size=8
        ).hexdigest()
        return replace(self, etag=f'"{digest}"')


class DataCache:
    """The current snapshot plus the thread that keeps it current."""

    def __init__(self, settings: Settings, poll_seconds: float | None = None) -> None:
        self.settings = settings
        self.poll_seconds = poll_seconds or settings.api_poll_seconds
        self.store = FeatureStore.from_settings(settings)
        self.store_reachable = False
        self._snapshot: Snapshot | None = None
        self._models_read_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:  # only before start(); start() loads synchronously
            self.refresh()
        assert self._snapshot is not None
        return self._snapshot

    def refresh(self) -> bool:
        """Probe the versions; rebuild what changed. True when the snapshot changed.
        A failing store keeps the last snapshot (health reports it unreachable)."""
        try:
            probed = self.store.versions()
        except Exception as exc:
            self._unreachable(exc)
            return False
        current = self._snapshot
        changed = current is None or probed != current.versions
        models_due = time.monotonic() - self._models_read_at >= MODELS_EVERY_SECONDS
        try:
            snapshot = load_snapshot(self.store, self.settings, probed) if changed else current
        except Exception as exc:
            self._unreachable(exc)
            return False
        assert snapshot is not None
        self.store_reachable = True
        if changed or models_due:
            snapshot = self._with_models(snapshot)
        if current is not None and snapshot.etag == current.etag:
            return False
        self._snapshot = snapshot
        return True

    def _with_models(self, snapshot: Snapshot) -> Snapshot:
        self._models_read_at = time.monotonic()
        try:
            models, champion = read_models(self.settings)
        except Exception as exc:  # the registry down must not hide the data
            log.warning("registry unreadable: %s", type(exc).__name__)
            models, champion = snapshot.models, snapshot.champion
        return replace(snapshot, models=models, champion=champion).tagged()

    def _unreachable(self, exc: Exception) -> None:
        if self.store_reachable or self._snapshot is None:
            log.warning("store unreadable: %s", type(exc).__name__)
        self.store_reachable = False
        if self._snapshot is None:
            self._snapshot = empty_snapshot({}).tagged()

    def start(self) -> None:
        """Load now (so the first request is warm), then poll in the background."""
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="mpp-api-cache", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # never let the poller die; the next tick retries
                log.exception("cache refresh failed")


# -- building a snapshot ---------------------------------------------------------------------


def load_snapshot(
    store: FeatureStore, settings: Settings, probed: dict[str, int | None]
) -> Snapshot:
    name = settings.model_name
    prices = store.prices().read(columns=list(BAR_COLUMNS))
    predictions = served(store.predictions.read_rows(model_name=name))
    errors = served(store.errors.read_rows(model_name=name))
    summary = store.summary.read_rows(model_name=name)
    return build_snapshot(probed, prices, predictions, errors, summary, name)


def empty_snapshot(probed: dict[str, int | None]) -> Snapshot:
    return Snapshot(
        versions=probed,
        symbols={},
        symbol_list=SymbolList(symbols=[]),
        overview=Overview(model_name="", symbols=[]),
        as_of=None,
    )


def build_snapshot(
    probed: dict[str, int | None],
    prices: pd.DataFrame,
    predictions: pd.DataFrame,
    errors: pd.DataFrame,
    summary: pd.DataFrame,
    model_name: str,
) -> Snapshot:
    for frame, columns in (
        (prices, ["date"]),
        (predictions, ["as_of_date", "target_date"]),
        (errors, ["as_of_date", "target_date"]),
        (summary, ["date"]),
    ):
        for column in columns:
            if column in frame.columns:
                frame[column] = pd.to_datetime(frame[column]).dt.date
    outcomes = errors.loc[:, ["symbol", "target_date", "model_version", *_OUTCOME_COLUMNS]]
    predictions = predictions.merge(
        outcomes, on=["symbol", "target_date", "model_version"], how="left"
    )
    symbols: dict[str, SymbolData] = {}
    for symbol, rows in _by_symbol(prices):
        symbols[symbol] = SymbolData(symbol, prices=_series(rows, "date", PriceRow))
    for symbol, rows in _by_symbol(predictions):
        data = symbols.setdefault(symbol, SymbolData(symbol))
        data.predictions = _series(rows, "target_date", PredictionRow)
    for symbol, rows in _by_symbol(errors):
        data = symbols.setdefault(symbol, SymbolData(symbol))
        data.errors = _series(rows, "target_date", ErrorRow)
        data.error_frame = rows.reset_index(drop=True)
    for symbol, rows in _by_symbol(summary):
        data = symbols.setdefault(symbol, SymbolData(symbol))
        data.daily = _series(rows, "date", DailySkill)
    for data in symbols.values():
        data.latest = _latest(data)
    forecasting = sorted(s for s, d in symbols.items() if d.latest is not None)
    as_of = max((symbols[s].predictions.rows[-1].as_of_date for s in forecasting), default=None)
    return Snapshot(
        versions=probed,
        symbols=symbols,
        symbol_list=SymbolList(
            symbols=[
                SymbolInfo(
                    symbol=s,
                    latest_as_of=symbols[s].predictions.rows[-1].as_of_date,
                    latest_price_date=symbols[s].prices.last_day,
                )
                for s in forecasting
            ]
        ),
        overview=Overview(
            model_name=model_name, symbols=[_overview_row(symbols[s]) for s in forecasting]
        ),
        as_of=as_of,
    )


def _by_symbol(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if frame.empty:
        return []
    return [(str(symbol), rows) for symbol, rows in frame.groupby("symbol", sort=True)]


def _series(rows: pd.DataFrame, day_column: str, model: type[Row]) -> Series:
    rows = rows.sort_values(day_column, kind="stable")
    fields = [c for c in model.model_fields if c in rows.columns]
    plain = rows.loc[:, fields].astype(object).where(rows.loc[:, fields].notna(), None)
    records: Sequence[Row] = TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
        plain.to_dict("records")
    )
    days = np.fromiter((d.toordinal() for d in rows[day_column]), dtype=np.int64, count=len(rows))
    return Series(list(records), days)


def _latest(data: SymbolData) -> LatestPrediction | None:
    if not data.predictions.rows:
        return None
    realised = [row for row in data.predictions.rows if row.actual_close is not None]
    return LatestPrediction(
        symbol=data.symbol,
        forecast=data.predictions.rows[-1],
        last_realised=realised[-1] if realised else None,
    )


def _overview_row(data: SymbolData) -> OverviewRow:
    assert data.latest is not None
    forecast = data.latest.forecast
    price = data.prices.rows[-1] if data.prices.rows else None
    daily = data.daily.rows[-1] if data.daily.rows else None
    change = None
    if forecast.predicted_close is not None and forecast.last_close:
        change = (forecast.predicted_close / forecast.last_close - 1.0) * 100.0
    return OverviewRow(
        symbol=data.symbol,
        last_price_date=price.date if price else None,
        last_close=price.close if price else forecast.last_close,
        as_of_date=forecast.as_of_date,
        target_date=forecast.target_date,
        predicted_close=forecast.predicted_close,
        change_pct=change,
        lower=forecast.lower,
        upper=forecast.upper,
        model_version=forecast.model_version,
        mase=daily.mase if daily else None,
        coverage=daily.coverage if daily else None,
        window=daily.window if daily else None,
        retrain_recommended=daily.retrain_recommended if daily else False,
        reason=daily.reason if daily else "",
        stale=price is not None and forecast.as_of_date < price.date,
    )

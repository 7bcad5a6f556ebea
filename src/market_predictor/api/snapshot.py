"""The API's data at one set of table versions: every table cut into per-symbol,
per-horizon, date-sorted row lists, so a request only bisects and slices, and the
bodies that take no request parameter (latest forecasts, overviews) built once.

Forecasts of different horizons share target dates (a 1-day forecast made on Friday and
a 5-day one made the Tuesday before both target Monday), so every series holds one
horizon only: a route reading horizon h can never mix in another horizon's rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, TypeAdapter

from market_predictor.api.schemas import (
    ChampionInfo,
    DailySkill,
    ErrorRow,
    HorizonForecast,
    HorizonOutlook,
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

# Responses computed from a slice (range summaries) are memoised per snapshot; the
# bound keeps a client walking every possible range from growing memory.
MEMO_LIMIT = 4096

Row = TypeVar("Row", bound=BaseModel)
T = TypeVar("T")

# An outcome belongs to the forecast with its whole served identity: symbol, horizon,
# target date and model version (the target date alone is shared across horizons).
_OUTCOME_KEY = ["symbol", "horizon", "target_date", "model_version"]
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
class HorizonData:
    """One symbol's rows at one forecast horizon."""

    predictions: Series = field(default_factory=_empty)  # by target date
    errors: Series = field(default_factory=_empty)  # by target date
    error_frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    daily: Series = field(default_factory=_empty)  # monitoring summary, by date
    latest: LatestPrediction | None = None


# What a horizon the store never forecast reads as: no rows (never mutated).
_NO_ROWS = HorizonData()


@dataclass
class SymbolData:
    symbol: str
    prices: Series = field(default_factory=_empty)
    horizons: dict[int, HorizonData] = field(default_factory=dict)
    fan: list[HorizonForecast] = field(default_factory=list)  # newest as-of, by horizon
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def at(self, horizon: int) -> HorizonData:
        return self.horizons.get(horizon, _NO_ROWS)

    @property
    def forecast_horizons(self) -> list[int]:
        return sorted(h for h, rows in self.horizons.items() if rows.predictions.rows)

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
    overviews: dict[int, Overview]
    model_name: str
    as_of: dt.date | None
    models: ModelList | None = None
    champion: ChampionInfo | None = None
    etag: str = ""

    def overview(self, horizon: int) -> Overview:
        """Per symbol, its newest forecast at `horizon`; no rows for an unknown horizon."""
        return self.overviews.get(horizon) or Overview(model_name=self.model_name, symbols=[])

    def tagged(self) -> Snapshot:
        models = self.models.model_dump_json() if self.models else ""
        digest = hashlib.blake2b(
            f"{sorted(self.versions.items())}|{models}".encode(), digest_size=8
        ).hexdigest()
        return replace(self, etag=f'"{digest}"')


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
        overviews={},
        model_name="",
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
    outcomes = errors.loc[:, [*_OUTCOME_KEY, *_OUTCOME_COLUMNS]]
    predictions = predictions.merge(outcomes, on=_OUTCOME_KEY, how="left")
    symbols: dict[str, SymbolData] = {}
    for (symbol,), rows in _groups(prices, ["symbol"]):
        symbols[symbol] = SymbolData(symbol, prices=_series(rows, "date", PriceRow))
    for key, rows in _groups(predictions, ["symbol", "horizon"]):
        _horizon_of(symbols, key).predictions = _series(rows, "target_date", PredictionRow)
    for key, rows in _groups(errors, ["symbol", "horizon"]):
        horizon = _horizon_of(symbols, key)
        horizon.errors = _series(rows, "target_date", ErrorRow)
        horizon.error_frame = rows.reset_index(drop=True)
    for key, rows in _groups(summary, ["symbol", "horizon"]):
        _horizon_of(symbols, key).daily = _series(rows, "date", DailySkill)
    for data in symbols.values():
        data.fan = _fan(data)
        for horizon in data.horizons.values():
            horizon.latest = _latest(data, horizon)
    forecasting = [symbols[s] for s in sorted(symbols) if symbols[s].fan]
    horizons = sorted({h for data in forecasting for h in data.forecast_horizons})
    return Snapshot(
        versions=probed,
        symbols=symbols,
        symbol_list=SymbolList(symbols=[_symbol_info(data) for data in forecasting]),
        overviews={
            h: Overview(
                model_name=model_name,
                symbols=[_overview_row(d, h) for d in forecasting if d.at(h).latest],
            )
            for h in horizons
        },
        model_name=model_name,
        as_of=max((data.fan[0].as_of_date for data in forecasting), default=None),
    )


def _groups(frame: pd.DataFrame, keys: list[str]) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    """(key values, rows) per group, keys as plain Python values (str, int)."""
    if frame.empty:
        return []
    return [
        (tuple(_plain(v) for v in values), rows) for values, rows in frame.groupby(keys, sort=True)
    ]


def _plain(value: Hashable) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _horizon_of(symbols: dict[str, SymbolData], key: tuple[Any, ...]) -> HorizonData:
    symbol, horizon = key
    data = symbols.setdefault(symbol, SymbolData(symbol))
    return data.horizons.setdefault(int(horizon), HorizonData())


def _series(rows: pd.DataFrame, day_column: str, model: type[Row]) -> Series:
    rows = rows.sort_values(day_column, kind="stable")
    fields = [c for c in model.model_fields if c in rows.columns]
    plain = rows.loc[:, fields].astype(object).where(rows.loc[:, fields].notna(), None)
    records: Sequence[Row] = TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
        plain.to_dict("records")
    )
    days = np.fromiter((d.toordinal() for d in rows[day_column]), dtype=np.int64, count=len(rows))
    return Series(list(records), days)


def _fan(data: SymbolData) -> list[HorizonForecast]:
    """Every horizon's forecast made at the symbol's newest as-of date. A horizon's
    newest target is its newest as-of date's; a horizon not forecast that day (an older
    newest row) is left out rather than drawn from a different day's close."""
    newest = [data.horizons[h].predictions.rows[-1] for h in data.forecast_horizons]
    if not newest:
        return []
    as_of = max(row.as_of_date for row in newest)
    fields = HorizonForecast.model_fields
    return [
        HorizonForecast.model_construct(**{name: getattr(row, name) for name in fields})
        for row in newest
        if row.as_of_date == as_of
    ]


def _latest(data: SymbolData, horizon: HorizonData) -> LatestPrediction | None:
    rows = horizon.predictions.rows
    if not rows:
        return None
    realised = next((row for row in reversed(rows) if row.actual_close is not None), None)
    return LatestPrediction(
        symbol=data.symbol, forecast=rows[-1], last_realised=realised, horizons=data.fan
    )


def _symbol_info(data: SymbolData) -> SymbolInfo:
    return SymbolInfo(
        symbol=data.symbol,
        latest_as_of=data.fan[0].as_of_date,
        latest_price_date=data.prices.last_day,
        horizons=data.forecast_horizons,
    )


def _overview_row(data: SymbolData, horizon: int) -> OverviewRow:
    at = data.at(horizon)
    assert at.latest is not None
    forecast = at.latest.forecast
    price = data.prices.rows[-1] if data.prices.rows else None
    daily = at.daily.rows[-1] if at.daily.rows else None
    change = None
    if forecast.predicted_close is not None and forecast.last_close:
        change = (forecast.predicted_close / forecast.last_close - 1.0) * 100.0
    return OverviewRow(
        symbol=data.symbol,
        horizon=horizon,
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
        horizons=[_outlook(point, data.at(point.horizon)) for point in data.fan],
    )


def _outlook(point: HorizonForecast, horizon: HorizonData) -> HorizonOutlook:
    """A fan point with its horizon's newest rolling skill (none before monitoring has
    realised errors of that horizon)."""
    daily = horizon.daily.rows[-1] if horizon.daily.rows else None
    return HorizonOutlook(
        **dict(point),
        mase=daily.mase if daily else None,
        coverage=daily.coverage if daily else None,
        window=daily.window if daily else None,
    )

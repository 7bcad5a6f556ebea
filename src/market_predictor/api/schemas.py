"""Response models of every route: the JSON contract in docs/api.md.

Rows of a table are that table's row models (market_predictor.store: a price bar, a
forecast's values, a realised error, a day's skill) and validation metrics are the
core's `Metrics`, so the API serves exactly the shapes the pipeline stores. NaN floats
serialise as null (the core's `Result` config).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from market_predictor.interval_tests import IntervalBacktest
from market_predictor.records import OptionalFloatsModel, Result
from market_predictor.results import Metrics
from market_predictor.store.errors import ErrorRow, Outcome
from market_predictor.store.predictions import ForecastValues, ServedBy
from market_predictor.store.prices import PriceRow
from market_predictor.store.summary import DailySkill, SymbolSkill

__all__ = ["DailySkill", "ErrorRow", "PriceRow"]

# -- errors ---------------------------------------------------------------------------------


class ErrorBody(Result):
    """Every 401/403/404/500 body: one line, never a stack trace."""

    detail: str


class FieldError(Result):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(Result):
    """422: which parameter was wrong (`loc`, e.g. ["query", "start"]) and why."""

    detail: list[FieldError]


# -- health and symbols ---------------------------------------------------------------------


class Health(Result):
    status: str = Field(description="ok, or degraded when the store cannot be read")
    version: str = Field(description="market_predictor package version")
    model_name: str
    champion_version: str | None
    store_reachable: bool
    as_of: dt.date | None = Field(description="latest as-of date of any stored prediction")
    data_versions: dict[str, int | None] = Field(description="Delta version of each table")


class SymbolInfo(Result):
    symbol: str
    latest_as_of: dt.date
    latest_price_date: dt.date | None
    horizons: list[int] = Field(
        description="forecast horizons (trading days) the store holds predictions of"
    )


class SymbolList(Result):
    symbols: list[SymbolInfo]


class AvailableSymbols(Result):
    """The original system's shape."""

    values: list[str]


# -- predictions ----------------------------------------------------------------------------


class PredictionRow(Outcome, ForecastValues, ServedBy):
    """One served forecast (the newest model version's, per target date), with its
    outcome once the target day's close is stored."""


class PredictionList(Result):
    symbol: str
    horizon: int
    start: dt.date | None
    end: dt.date | None
    count: int
    predictions: list[PredictionRow]


class HorizonForecast(ForecastValues, ServedBy):
    """One horizon of a symbol's newest forecasts: a point of the fan chart."""


class LatestPrediction(Result):
    symbol: str
    forecast: PredictionRow = Field(
        description="the newest forecast at the requested horizon (the next trading day's "
        "by default)"
    )
    last_realised: PredictionRow | None = Field(
        description="the newest forecast at the requested horizon whose close is known"
    )
    horizons: list[HorizonForecast] = Field(
        description="every horizon's forecast made at the newest as-of date, by horizon: "
        "the fan of intervals from the last close"
    )


class LegacyPredictions(Result):
    """The original system's shape: target dates and predicted closes."""

    datetime: list[dt.date]
    prediction: list[float | None]


# -- metrics --------------------------------------------------------------------------------


class MetricsReport(Result):
    symbol: str
    horizon: int
    start: dt.date | None
    end: dt.date | None
    model_name: str
    summary: SymbolSkill = Field(
        description="skill over the errors in the range (MASE against persistence); the "
        "retrain flag, its reason and drift come from the newest daily row in the range"
    )
    errors: list[ErrorRow]
    daily: list[DailySkill]


class LegacyMetrics(Result):
    """The original system's shape: target dates and absolute errors."""

    datetime: list[dt.date]
    metric: list[float | None]


# -- prices ---------------------------------------------------------------------------------


class PriceList(Result):
    symbol: str
    start: dt.date | None
    end: dt.date | None
    count: int
    prices: list[PriceRow]


# -- overview -------------------------------------------------------------------------------


class HorizonOutlook(HorizonForecast):
    """A horizon's newest forecast beside its rolling skill against persistence."""

    mase: float | None = Field(None, description="rolling MASE of the horizon's newest day")
    coverage: float | None = None
    window: int | None = None


class OverviewRow(OptionalFloatsModel):
    symbol: str
    horizon: int = Field(description="the horizon the flat forecast and skill fields are of")
    last_price_date: dt.date | None
    last_close: float | None
    as_of_date: dt.date
    target_date: dt.date
    predicted_close: float | None
    change_pct: float | None = Field(description="predicted close vs last close, in percent")
    lower: float | None
    upper: float | None
    model_version: str
    mase: float | None = Field(description="rolling MASE of the newest monitoring row")
    coverage: float | None
    window: int | None = Field(
        None, description="realised errors the rolling MASE and coverage are measured over"
    )
    retrain_recommended: bool
    reason: str
    stale: bool = Field(description="the newest forecast is older than the newest price")
    horizons: list[HorizonOutlook] = Field(
        description="every horizon's forecast at the newest as-of date with its rolling skill"
    )


class Overview(Result):
    model_name: str
    symbols: list[OverviewRow]


# -- models ---------------------------------------------------------------------------------


class ModelVersionInfo(Result):
    model_name: str
    version: str
    aliases: list[str]
    run_id: str | None
    created_at: dt.datetime
    is_baseline: bool
    model_type: str | None
    trained_until: dt.date | None
    gate_decision: str | None
    gate_reason: str | None
    promoted_by: str | None


class ModelList(Result):
    model_name: str
    versions: list[ModelVersionInfo]


class ChampionInfo(Result):
    name: str
    version: str
    run_id: str | None
    is_baseline: bool
    model_type: str | None
    trained_at: dt.datetime = Field(description="when the version was registered (UTC)")
    trained_until: dt.date | None
    training_start: dt.date | None = Field(description="first day of the training data")
    training_end: dt.date | None = Field(description="last day of the training data")
    validation_start: dt.date | None
    validation: dict[str, Metrics] = Field(
        description="validation metrics of every contestant the training run scored (the "
        "network as `model`, persistence, drift, the volatility rivals, the combined "
        "forecast, the previous champion), on the same rows"
    )
    interval_tests: dict[str, IntervalBacktest] = Field(
        default_factory=dict,
        description="each contestant's Kupiec and Christoffersen backtests of its next-day "
        "interval (each tail and both) and its interval score, on the validation window",
    )
    gate_decision: str | None
    gate_reason: str | None
    promoted_by: str | None
    history: list[ModelVersionInfo] = Field(description="every version's gate decision")

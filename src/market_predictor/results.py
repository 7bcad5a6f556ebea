"""Typed results of every stage: what the CLI prints with --json, what the API serves and
what Airflow passes between tasks as XCom.

Pydantic only (no torch, no MLflow), so services can import them cheaply. Floats that
are undefined (NaN, e.g. MASE over zero realised errors) serialise as null.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from market_predictor.triggers.base import TriggerTest


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


# -- ingest --------------------------------------------------------------------------------


class IngestResult(Result):
    source: str
    symbols: list[str]
    start: dt.date | None
    end: dt.date
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    table_version: int | None = None
    feature_group_version: int = 1
    quarantine_reasons: dict[str, int] = Field(default_factory=dict)

    def merged_with(self, other: IngestResult) -> IngestResult:
        """Two ingests of one run (say, two symbol groups) counted as one."""
        return self.model_copy(
            update={
                "symbols": sorted({*self.symbols, *other.symbols}),
                "fetched": self.fetched + other.fetched,
                "inserted": self.inserted + other.inserted,
                "updated": self.updated + other.updated,
                "unchanged": self.unchanged + other.unchanged,
                "quarantined": self.quarantined + other.quarantined,
                "table_version": other.table_version,
                "quarantine_reasons": {
                    reason: self.quarantine_reasons.get(reason, 0)
                    + other.quarantine_reasons.get(reason, 0)
                    for reason in {*self.quarantine_reasons, *other.quarantine_reasons}
                },
            }
        )


# -- predict -------------------------------------------------------------------------------


class Forecast(OptionalFloatsModel):
    symbol: str
    last_close: float
    predicted_close: float
    lower: float
    upper: float
    predicted_return: float


class PredictionBatch(Result):
    as_of: dt.date
    target_date: dt.date
    model_name: str
    model_version: str
    run_id: str
    is_baseline: bool
    predictions: list[Forecast] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)
    inserted: int = 0
    updated: int = 0
    table_version: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def predicted(self) -> int:
        return len(self.predictions)


# -- monitor -------------------------------------------------------------------------------


class SymbolSkill(OptionalFloatsModel):
    """One symbol's row of the monitoring summary for a day."""

    n: int
    mae: float | None = None
    persistence_mae: float | None = None
    mase: float | None = None
    coverage: float | None = None
    directional_accuracy: float | None = None
    # The reported trigger test (the firing one with the smallest p-value, else the one
    # closest to firing), with its statistic, rejection rule and sample size.
    test: str | None = None
    statistic: float | None = None
    threshold: str | None = None
    test_window: int | None = None
    p_value: float | None = None
    tests: list[TriggerTest] = Field(default_factory=list)
    retrain_recommended: bool = False
    reason: str = ""

    @field_validator("tests", mode="before")
    @classmethod
    def _stored_as_json(cls, value: object) -> object:
        """The summary table stores the tests as JSON text (an infinite statistic as
        Infinity): read back, what is not finite is unknown, as every other float here."""
        if not isinstance(value, str):
            return value
        return [{key: finite_or_none(v) for key, v in test.items()} for test in json.loads(value)]


class MonitorResult(Result):
    as_of: dt.date | None
    model_name: str
    new_errors: int = 0
    pending: int = 0
    symbols: dict[str, SymbolSkill] = Field(default_factory=dict)
    # Each test's level: the day's family-wise `alpha` shared by symbols x tests.
    alpha: float | None = None
    test_level: float | None = None
    errors_table_version: int | None = None
    summary_table_version: int | None = None
    message: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def retrain_recommended(self) -> bool:
        return any(row.retrain_recommended for row in self.symbols.values())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reasons(self) -> dict[str, str]:
        return {s: row.reason for s, row in self.symbols.items() if row.retrain_recommended}


# -- train ---------------------------------------------------------------------------------


class Metrics(OptionalFloatsModel):
    """Evaluation metrics of one forecaster on one window (None where undefined)."""

    model_config = ConfigDict(extra="allow", ser_json_inf_nan="null")

    mae: float | None = None
    rmse: float | None = None
    mape: float | None = None
    mase: float | None = None
    directional_accuracy: float | None = None
    coverage: float | None = None
    pinball: float | None = None
    n: int | None = None


class TrainResult(Result):
    run_id: str
    model_name: str
    version: str
    is_baseline: bool
    became_champion: bool
    champion_version: str | None
    decision: str
    metrics: dict[str, Metrics | None]
    lineage: dict[str, str]
    message: str
    network: str = "lstm"
    baseline_version: str | None = None
    garch_version: str | None = None
    validation_start: dt.date | None = None
    epochs_trained: int | None = None
    median_source: str | None = None


class TuneResult(Result):
    trials: int
    completed: int
    pruned: int
    failed: int
    best_trial: int
    best_pinball: float
    persistence_pinball: float
    best_params: dict[str, Any]
    config: dict[str, Any]
    config_path: str
    parent_run_id: str
    start: dt.date
    end: dt.date
    folds: int
    retrain_every: str
    symbols: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def beats_persistence(self) -> bool:
        return self.best_pinball < self.persistence_pinball


# -- backtest ------------------------------------------------------------------------------


class FoldWindow(Result):
    start: dt.date
    end: dt.date


class BacktestReport(Result):
    start: dt.date
    end: dt.date
    retrain_every: str
    symbols: list[str]
    folds: list[FoldWindow]
    forecasters: list[str]
    config: dict[str, Any] | None = None
    # forecaster -> symbol (or "ALL") -> metrics
    metrics: dict[str, dict[str, Metrics]]


# -- the daily job -------------------------------------------------------------------------

RetrainStatus = Literal["not needed", "disabled", "cooldown", "trained"]


class RetrainResult(Result):
    status: RetrainStatus
    # triggered: a monitoring test fired; scheduled: the champion outlived
    # MPP_MAX_MODEL_AGE_DAYS without one.
    trigger: Literal["triggered", "scheduled"] | None = None
    model_age_days: int | None = None
    reasons: dict[str, str] = Field(default_factory=dict)
    last_retrain: dt.date | None = None
    trading_days_since: int | None = None
    cooldown_days: int | None = None
    train: TrainResult | None = None


class CompactResult(Result):
    compacted: list[str] = Field(default_factory=list)


class DailySteps(Result):
    ingest: IngestResult | None = None
    predict: PredictionBatch | None = None
    monitor: MonitorResult | None = None
    retrain: RetrainResult | None = None
    compact: CompactResult | None = None


DailyStep = Literal["validate", "ingest", "predict", "monitor", "retrain", "compact"]


class DailyReport(Result):
    as_of: dt.date
    steps: DailySteps = Field(default_factory=DailySteps)
    failed_step: DailyStep | None = None
    error: str | None = None
    message: str = ""
    seconds: dict[str, float] = Field(default_factory=dict)


class ReplayDay(Result):
    as_of: dt.date
    predictions_inserted: int = 0
    errors_inserted: int = 0
    retrain_recommended: bool = False
    retrain: RetrainStatus | None = None
    retrain_trigger: Literal["triggered", "scheduled"] | None = None
    reasons: dict[str, str] = Field(default_factory=dict)
    champion_version: str | None = None
    failed_step: DailyStep | None = None


class ReplayReport(Result):
    start: dt.date
    end: dt.date
    trading_days: int
    days: list[ReplayDay] = Field(default_factory=list)
    failed_step: DailyStep | None = None
    failed_day: dt.date | None = None
    error: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def completed_days(self) -> int:
        return len(self.days) - (1 if self.failed_step else 0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def predictions_inserted(self) -> int:
        return sum(day.predictions_inserted for day in self.days)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def errors_inserted(self) -> int:
        return sum(day.errors_inserted for day in self.days)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def retrains(self) -> list[ReplayDay]:
        return [day for day in self.days if day.retrain == "trained"]

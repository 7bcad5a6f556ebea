"""Typed results of every stage: what the CLI prints with --json, what the API serves and
what Airflow passes between tasks as XCom.

No torch, no MLflow, so services can import them cheaply. Records of a table's rows
(a forecast, a day's skill) are that table's row models (market_predictor.store), so
the JSON a stage prints and the columns it stores cannot drift apart. Floats that are
undefined (NaN, e.g. MASE over zero realised errors) serialise as null.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import ConfigDict, Field, computed_field

from market_predictor.interval_tests import IntervalBacktest
from market_predictor.records import OptionalFloatsModel, Result
from market_predictor.store.predictions import ForecastValues
from market_predictor.store.rows import SymbolField
from market_predictor.store.scales import IntervalScale
from market_predictor.store.summary import SymbolSkill
from market_predictor.triggers.base import TriggerTest

__all__ = ["OptionalFloatsModel", "Result", "SymbolSkill", "TriggerTest"]


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


class _Target(Result):
    horizon: int = 1
    target_date: dt.date | None = None


class Forecast(ForecastValues, _Target, SymbolField):
    """One symbol's stored forecast at one horizon, as `mpp predict --json` prints it."""


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


class MonitorResult(Result):
    as_of: dt.date | None
    model_name: str
    new_errors: int = 0
    pending: int = 0
    symbols: dict[str, SymbolSkill] = Field(default_factory=dict)
    # Each horizon beyond the next day's rows, by horizon then symbol: the rolling skill
    # and the coverage, skill and bias tests on overlapping h-day errors, which may ask
    # for a retrain as the next day's do (triggers/overlap.py).
    horizons: dict[int, dict[str, SymbolSkill]] = Field(default_factory=dict)
    # Each test's level: the day's family-wise `alpha` shared by symbols x tests.
    alpha: float | None = None
    test_level: float | None = None
    errors_table_version: int | None = None
    summary_table_version: int | None = None
    # The champion version's online interval scale after the day's realised errors,
    # per symbol and horizon: what tomorrow's forecasts are served with.
    interval_scales: list[IntervalScale] = Field(default_factory=list)
    message: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def retrain_recommended(self) -> bool:
        return any(row.retrain_recommended for _, row in self._rows())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reasons(self) -> dict[str, str]:
        """Per flagged symbol, what fired at any horizon (the next day's first)."""
        fired: dict[str, list[str]] = {}
        for symbol, row in self._rows():
            if row.retrain_recommended:
                fired.setdefault(symbol, []).append(row.reason)
        return {symbol: "; ".join(reasons) for symbol, reasons in fired.items()}

    def _rows(self) -> list[tuple[str, SymbolSkill]]:
        by_horizon = [self.symbols, *(self.horizons[h] for h in sorted(self.horizons))]
        return [(symbol, row) for rows in by_horizon for symbol, row in rows.items()]


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
    # The validation metrics at every horizon (1 is `metrics`), by contestant.
    horizon_metrics: dict[int, dict[str, Metrics]] = Field(default_factory=dict)
    # What the gate compared: "pinball" (next day only) or "relative pinball" (the mean
    # over horizons of each horizon's pinball over persistence's), and each score.
    gate_measure: str = "pinball"
    gate_scores: dict[str, float] = Field(default_factory=dict)
    # Horizons at which what serves after the run has the lowest pinball of all.
    horizons_won: list[int] = Field(default_factory=list)
    # Each contestant's VaR-style backtests of its next-day interval on the gate's
    # window (the rows every contestant covers).
    interval_tests: dict[str, IntervalBacktest] = Field(default_factory=dict)
    # What the combined candidate averages (empty when it was not scored).
    combined_components: list[str] = Field(default_factory=list)
    # Rivals the settings chose that the gate did not compare, and why.
    left_out: dict[str, str] = Field(default_factory=dict)
    baseline_version: str | None = None
    # The registered version of a volatility rival the gate made champion, by kind.
    rival_versions: dict[str, str] = Field(default_factory=dict)
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
    # forecaster -> symbol (or "ALL") -> metrics, of the next-day forecasts
    metrics: dict[str, dict[str, Metrics]]
    # horizon (beyond the next day) -> forecaster -> symbol (or "ALL") -> metrics
    horizon_metrics: dict[int, dict[str, dict[str, Metrics]]] = Field(default_factory=dict)
    # forecaster -> symbol (or "ALL") -> Kupiec / Christoffersen tests of the next-day
    # interval's tails and the interval score (market_predictor.interval_tests)
    interval_tests: dict[str, dict[str, IntervalBacktest]] = Field(default_factory=dict)


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
    seconds: dict[str, float] = Field(default_factory=dict)


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

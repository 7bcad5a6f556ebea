"""What one Airflow run of the daily pipeline works on: its as-of date and its options.

Pure functions without Airflow, so the rules are unit-tested in milliseconds: the DAG's
tasks only read the run's context and Variables and hand them to `as_of_for_run` and
`RunConfig.resolve`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field, ValidationError

from market_predictor import calendar
from market_predictor.checks import first_problem
from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.symbols import parse_symbols

# The original system's Airflow Variables, by the option each one sets.
VARIABLES = {
    "symbols": "ml_pipeline_symbols",
    "interval": "ml_pipeline_interval",
    "days_delay": "ml_pipeline_days_delay",
    "feature_group_version": "ml_pipeline_feature_group_version",
    "feature_view_version": "ml_pipeline_feature_view_version",
}
DAILY = "1d"


def run_moment(
    run_type: str,
    logical_date: dt.datetime | None,
    data_interval_end: dt.datetime | None,
    run_after: dt.datetime,
) -> dt.datetime:
    """The moment a run stands for. A scheduled or backfill run: the end of its data
    interval (the schedule's tick after the close, whatever the timetable's logical date
    convention). A manual run: the logical date its trigger chose (Airflow derives a
    manual run's data interval from the moment of triggering, not from that date), else
    the moment it may run."""
    if run_type in ("manual", "operator_triggered"):
        return logical_date or run_after
    return data_interval_end or logical_date or run_after


def as_of_for_run(moment: dt.datetime, calendar_name: str) -> dt.date | None:
    """The trading day whose close a run at `moment` (its data interval's end) follows.

    The exchange-local date of `moment` when the exchange traded that day and had closed
    by then: a run at 22:30 UTC on a Monday forecasts Tuesday from Monday's close. A run
    before that day's close (a manual trigger at noon) takes the trading day before.
    None when the exchange did not trade on that date (weekend, holiday): no work.
    """
    cal = calendar.trading_calendar(calendar_name)
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone")
    day = stamp.tz_convert(cal.tz).date()
    if not calendar.is_trading_day(day, calendar_name):
        return None
    if cal.session_close(pd.Timestamp(day)) <= stamp:
        return day
    return calendar.shift_trading_days(day, -1, calendar_name)


class RunConfig(BaseModel):
    """A run's options, resolved from the trigger's conf, the Variables and the Params."""

    symbols: list[str]
    interval: str = DAILY
    days_delay: int = Field(ge=0)
    feature_group_version: int = Field(ge=1)
    feature_view_version: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    retrain: bool = True
    max_epochs: int | None = Field(None, ge=1)

    @classmethod
    def resolve(
        cls,
        params: Mapping[str, Any],
        conf: Mapping[str, Any],
        variables: Mapping[str, str | None],
    ) -> RunConfig:
        """An option given in the trigger's conf wins, then the original's Variable
        (`ml_pipeline_*`, text as Airflow stores it), then the Param's default. Bad
        values raise InputError naming where they came from."""
        values = dict(params)
        origin = {name: f"param {name!r}" for name in values}
        for name, variable in VARIABLES.items():
            text = variables.get(variable)
            if text is not None and name not in conf:
                values[name] = _parse_variable(text)
                origin[name] = f"Variable {variable}"
        for name in conf:
            if name in values:
                values[name] = conf[name]
                origin[name] = f"conf {name!r}"
        try:
            values["symbols"] = parse_symbols(_symbol_list(values.get("symbols")))
            config = cls.model_validate(values)
        except ValidationError as exc:
            problem = first_problem(exc)
            name = problem.field or "options"
            raise InputError(f"{origin.get(name, name)}: {problem.rule}") from None
        except InputError as exc:
            raise InputError(f"{origin.get('symbols', 'symbols')}: {exc}") from None
        if config.interval != DAILY:
            raise InputError(
                f"{origin['interval']}: interval {config.interval!r} is not supported; "
                f"the pipeline forecasts daily closes ({DAILY!r})"
            )
        return config

    def settings(self, base: Settings) -> Settings:
        """`base` (the MPP_ settings: store, MLflow, source) with this run's options."""
        return base.model_copy(
            update={
                "symbols": self.symbols,
                "feature_group_version": self.feature_group_version,
                "ingest_overlap_days": self.days_delay,
            }
        )

    def batches(self) -> list[list[str]]:
        """The symbols in groups of `batch_size`, one mapped ingest task each."""
        size = self.batch_size
        return [self.symbols[i : i + size] for i in range(0, len(self.symbols), size)]


def default_params(settings: Settings) -> dict[str, Any]:
    """The DAG Params' defaults: the MPP_ settings, so a fresh Airflow with no Variable
    runs the same day as `mpp daily` would."""
    return {
        "symbols": list(settings.symbols),
        "interval": DAILY,
        "days_delay": settings.ingest_overlap_days,
        "feature_group_version": settings.feature_group_version,
        "feature_view_version": 1,
        "batch_size": 1,
        "retrain": True,
        "max_epochs": None,
    }


def _parse_variable(text: str) -> Any:
    # Airflow stores Variables as text; the original kept JSON in them (a list, "1d", 14).
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _symbol_list(value: Any) -> Any:
    if value is None:
        raise InputError("no symbols given")
    if isinstance(value, str | list | tuple):
        return value
    raise InputError(f"symbols must be a JSON list of tickers, not {value!r}")

"""Realised error of every served prediction, rolling skill against persistence, and
the retrain triggers: coverage, skill, bias, input-drift and scale tests whose thresholds
account for their sample size, for the overlap of h-day errors and for the number of
tests a day runs (market_predictor.triggers).

Everything is computed "as of" a day: only predictions whose target date is on or
before it and only prices dated on or before it are read, so replaying history
produces exactly the monitoring rows production would have written on each day. And
only the last LOOKBACK_WINDOWS performance windows of trading days are read, so a
day's cost does not grow with the years of history behind it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from market_predictor import calendar
from market_predictor.day import Day
from market_predictor.errors import InputError
from market_predictor.evaluation import mase
from market_predictor.interval_scales import update_scales
from market_predictor.results import MonitorResult
from market_predictor.store import errors as error_table
from market_predictor.store.summary import SKILL_COLUMNS, SymbolSkill
from market_predictor.triggers import (
    DRIFT_INPUTS,
    DRIFT_WINDOW,
    LONGEST_TEST_WINDOW,
    PERFORMANCE_WINDOW,
    DriftReference,
    Evidence,
    TriggerTest,
    horizon_window,
    model_inputs,
    per_test_level,
    run_all,
    strongest,
    trigger_count,
)

if TYPE_CHECKING:
    from market_predictor.registry import ChampionModel

LOOKBACK_WINDOWS = 3  # performance windows of history a day's monitoring reads


# -- the pure parts ----------------------------------------------------------------------


def scaled_errors(errors: pd.DataFrame) -> np.ndarray:
    """Each realised close minus the served median, over the served interval's width
    (NaN for an interval of no width)."""
    width = (errors["upper"] - errors["lower"]).to_numpy(dtype="float64")
    error = (errors["actual_close"] - errors["predicted_close"]).to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(width > 0, error / width, np.nan)


def rolling_skill(errors: pd.DataFrame, window: int = PERFORMANCE_WINDOW) -> dict[str, Any]:
    """MAE, persistence MAE, MASE, coverage and directional accuracy over the last
    `window` realised errors of one symbol (NaN where there is nothing to measure)."""
    return skill_by_symbol(errors.assign(symbol=""), [""], window)[""]


def skill_by_symbol(
    errors: pd.DataFrame, symbols: Iterable[str], window: int = PERFORMANCE_WINDOW
) -> dict[str, dict[str, Any]]:
    """Rolling skill of every symbol over its last `window` realised errors, in one
    pass (per-symbol frame slicing cost seconds at thousands of symbols)."""
    marked = errors.assign(
        called=errors["direction_correct"].notna(),
        correct=errors["direction_correct"].fillna(False).astype(bool),
        inside_interval=errors["inside_interval"].astype(bool),
    )
    columns = ("abs_error", "persistence_abs_error", "inside_interval", "called", "correct")
    recent = _last_rows(marked, "target_date", window, columns)
    return {
        symbol: _skill(recent[symbol]) if symbol in recent else _no_skill() for symbol in symbols
    }


def _skill(recent: Mapping[str, np.ndarray]) -> dict[str, Any]:
    n = len(recent["abs_error"])
    mae = _nanmean(recent["abs_error"].astype("float64"))
    persistence_mae = _nanmean(recent["persistence_abs_error"].astype("float64"))
    n_called = int(recent["called"].sum())
    return {
        "n": n,
        "mae": mae,
        "persistence_mae": persistence_mae,
        "mase": mase(mae, persistence_mae),
        "coverage": float(recent["inside_interval"].sum() / n),
        "directional_accuracy": float(recent["correct"].sum() / n_called)
        if n_called
        else float("nan"),
    }


def _no_skill() -> dict[str, Any]:
    return {"n": 0} | {name: float("nan") for name in SKILL_COLUMNS[1:]}


def _nanmean(values: np.ndarray) -> float:
    # pandas' Series.mean: NaNs zeroed, then summed and divided by the count of the rest.
    present = ~np.isnan(values)
    count = int(present.sum())
    return float(np.where(present, values, 0.0).sum() / count) if count else float("nan")


def symbol_tests(
    errors: pd.DataFrame,
    inputs: pd.DataFrame | None,
    symbol: str,
    reference: dict[str, Any] | None,
    nominal_coverage: float,
    level: float,
    horizon: int = 1,
) -> list[TriggerTest]:
    """Every trigger test of one symbol at one horizon: coverage, skill and bias over
    its last horizon_window(horizon) realised errors (PERFORMANCE_WINDOW next day; none
    below MIN_REALISED_ERRORS, or MIN_NON_OVERLAPPING non-overlapping ones at h), and
    next day the drift of its last `window` model inputs against the champion's stored
    reference and the scale of its last SCALE_WINDOW days (a model trained before
    issue 9 has no current reference: its inputs are not tested)."""
    recent = errors.sort_values("target_date").tail(horizon_window(horizon))
    current = DriftReference.from_dict(reference)
    window = None
    if inputs is not None and current is not None:
        window = inputs.sort_values("date").tail(current.window)
    return _tests(
        {
            "inside_interval": recent["inside_interval"].astype(bool).to_numpy(),
            "abs_error": recent["abs_error"].to_numpy(),
            "persistence_abs_error": recent["persistence_abs_error"].to_numpy(),
            "scaled_error": scaled_errors(recent),
        },
        window,
        symbol,
        current,
        nominal_coverage,
        level,
        horizon,
    )


def _tests(
    recent: Mapping[str, np.ndarray],
    window: pd.DataFrame | Mapping[str, np.ndarray] | None,
    symbol: str,
    reference: DriftReference | None,
    nominal_coverage: float,
    level: float,
    horizon: int = 1,
) -> list[TriggerTest]:
    """symbol_tests on one symbol's last errors and (None: untested) inputs in date order."""
    evidence = Evidence(recent, window, nominal_coverage, horizon)
    return run_all(evidence, reference, symbol, level)


_ERROR_COLUMNS = ("inside_interval", "abs_error", "persistence_abs_error", "scaled_error")
_NO_ERRORS = {column: np.empty(0) for column in _ERROR_COLUMNS}


def _recent_errors(errors: pd.DataFrame, window: int) -> dict[str, dict[str, np.ndarray]]:
    """Per symbol, what its performance tests read of its last `window` errors."""
    marked = errors.astype({"inside_interval": bool}).assign(scaled_error=scaled_errors(errors))
    return _last_rows(marked, "target_date", window, _ERROR_COLUMNS)


def _verdict(tests: list[TriggerTest]) -> dict[str, Any]:
    """A summary row's test columns: the reported test (the strongest), every test and
    the decision."""
    top = strongest(tests)
    fired = [test for test in tests if test.fired]
    return {
        "test": top.test if top else None,
        "statistic": top.statistic if top else None,
        "threshold": top.threshold if top else None,
        "test_window": top.window if top else None,
        "p_value": top.p_value if top else None,
        "tests": json.dumps([test.model_dump() for test in tests]),
        "retrain_recommended": bool(fired),
        "reason": "; ".join(test.describe() for test in fired),
    }


def _last_rows(
    frame: pd.DataFrame, order: str, window: int, columns: Iterable[str]
) -> dict[str, dict[str, np.ndarray]]:
    """Per symbol, `columns` over its last `window` rows in `order`: one sort and one
    split for every symbol (a boolean filter and a sort per symbol cost seconds at
    hundreds of symbols)."""
    ordered = frame.sort_values(["symbol", order], kind="stable")
    recent = ordered.groupby("symbol", sort=False).tail(window)
    names = recent["symbol"].to_numpy()
    arrays = {column: recent[column].to_numpy() for column in columns}
    if not len(names):
        return {}
    bounds = np.flatnonzero(names[1:] != names[:-1]) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(names)]])
    return {
        str(names[start]): {column: values[start:end] for column, values in arrays.items()}
        for start, end in zip(starts, ends, strict=True)
    }


# -- the monitoring step -----------------------------------------------------------------


def monitor(day: Day) -> MonitorResult:
    """Write the realised errors that became known by the day and the per-symbol
    summary for it (rolling skill, the trigger tests, the retrain flag)."""
    store, as_of, name = day.store, day.as_of, day.model_name
    if not store.predictions.exists():
        return MonitorResult(
            as_of=as_of,
            model_name=name,
            message="nothing to monitor yet: no predictions have been made (run `mpp predict`)",
        )
    store.ensure_writable()
    since = _lookback_start(day)
    pending = _one_per_target(store.unscored(day.symbols, name, since, as_of))
    summary = MonitorResult(as_of=as_of, model_name=name)
    if not pending.empty:
        actuals = store.prices().read(
            symbols=sorted(pending["symbol"].unique()),
            start=pending["target_date"].min().date(),
            end=as_of,
            columns=["symbol", "date", "close"],
        )
        new = error_table.realised_errors(pending, actuals)
        summary.pending = len(pending) - len(new)
        if not new.empty:
            result = store.errors.write(new, metadata=_metadata(as_of))
            summary.new_errors = result.inserted

    summary.pending += _awaiting_their_day(day)
    summary.interval_scales = update_scales(day)
    rows, summary.test_level = _summary_rows(day, since)
    summary.alpha = day.settings.trigger_alpha
    if rows.empty:
        summary.message = f"no predictions of {name} on or before {as_of}"
        return summary
    result = store.summary.write(rows, metadata=_metadata(as_of))
    summary.summary_table_version = result.version
    summary.errors_table_version = store.errors.version()
    records = rows.to_dict("records")
    summary.symbols = {
        row["symbol"]: SymbolSkill.model_validate(row) for row in records if row["horizon"] == 1
    }
    for row in records:
        if row["horizon"] != 1:
            summary.horizons.setdefault(int(row["horizon"]), {})[row["symbol"]] = (
                SymbolSkill.model_validate(row)
            )
    flagged = summary.reasons
    summary.message = (
        f"retraining recommended for {', '.join(flagged)}" if flagged else "skill within limits"
    )
    return summary


def _summary_rows(day: Day, since: dt.date | None) -> tuple[pd.DataFrame, float | None]:
    """One summary row per symbol that has a prediction made on or before the day, and
    the level each of the day's tests ran at."""
    store, as_of, name, champion = day.store, day.as_of, day.model_name, day.champion
    monitored = store.predictions.symbols_forecast(day.symbols, name, since, as_of)
    if not monitored:
        return pd.DataFrame(columns=store.summary.schema.names), None
    # Skill and tests read each symbol and horizon's last errors, at most the longest
    # window a horizon's tests use.
    every_horizon = store.errors.recent_served(monitored, name, since, as_of, LONGEST_TEST_WINDOW)
    # Coverage, skill and bias run at every horizon with errors (beyond the next day on
    # tests that account for the overlap of h-day errors), the input tests once: all
    # count in the day's Bonferroni family.
    horizons = len({int(h) for h in every_horizon["horizon"].unique()} | {1})
    errors = every_horizon[every_horizon["horizon"] == 1]
    reference = DriftReference.from_dict(getattr(champion, "drift_profile", None))
    inputs = _recent_inputs(day, monitored) if reference is not None else None
    tests_each = trigger_count(reference, horizons)
    level = per_test_level(day.settings.trigger_alpha, len(monitored), tests_each)
    nominal = _nominal_coverage(champion)
    version = champion.version if champion is not None else _latest_version(errors)
    now = pd.Timestamp.now(tz="UTC")
    records = []
    skills = skill_by_symbol(errors, monitored)
    recent_errors = _recent_errors(errors, PERFORMANCE_WINDOW)
    windows: dict[str, dict[str, np.ndarray]] | None = None
    no_inputs: dict[str, np.ndarray] = {}
    if inputs is not None and reference is not None:
        columns = [column for column in inputs.columns if column not in ("symbol", "date")]
        windows = _last_rows(inputs, "date", reference.window, columns)
        no_inputs = {column: np.empty(0) for column in columns}
    for symbol in monitored:
        window = None if windows is None else windows.get(symbol, no_inputs)
        recent = recent_errors.get(symbol, _NO_ERRORS)
        tests = _tests(recent, window, symbol, reference, nominal, level)
        records.append(
            {
                "date": as_of,
                "symbol": symbol,
                "horizon": 1,
                "model_name": name,
                "model_version": version,
                "window": PERFORMANCE_WINDOW,
                **skills[symbol],
                **_verdict(tests),
                "created_at": now,
            }
        )
    later = _longer_horizon_rows(every_horizon, monitored, day, version, now, nominal, level)
    return pd.DataFrame.from_records(records + later), level


def _longer_horizon_rows(
    errors: pd.DataFrame,
    monitored: list[str],
    day: Day,
    version: str | None,
    now: pd.Timestamp,
    nominal: float,
    level: float,
) -> list[dict[str, Any]]:
    """At each horizon beyond the next day, one row per symbol with errors there: the
    rolling skill, and the coverage, skill and bias tests on the horizon's last
    horizon_window(h) errors, at the day's level (they may ask for a retrain)."""
    rows = []
    for horizon in sorted({int(h) for h in errors["horizon"].unique()} - {1}):
        at_horizon = errors[errors["horizon"] == horizon]
        skills = skill_by_symbol(at_horizon, monitored)
        recent = _recent_errors(at_horizon, horizon_window(horizon))
        for symbol in sorted(at_horizon["symbol"].unique()):
            tests = _tests(recent[symbol], None, symbol, None, nominal, level, horizon)
            rows.append(
                {
                    "date": day.as_of,
                    "symbol": symbol,
                    "horizon": horizon,
                    "model_name": day.model_name,
                    "model_version": version,
                    "window": PERFORMANCE_WINDOW,
                    **skills[symbol],
                    **_verdict(tests),
                    "created_at": now,
                }
            )
    return rows


def _metadata(as_of: dt.date) -> dict[str, str]:
    return {"mpp_command": "monitor", "as_of": as_of.isoformat()}


def _nominal_coverage(champion: ChampionModel | None) -> float:
    """The served interval's nominal coverage (0.8 for the 10%-90% interval)."""
    from market_predictor.evaluation import DEFAULT_QUANTILES

    quantiles = champion.forecaster.quantiles if champion is not None else DEFAULT_QUANTILES
    return float(max(quantiles) - min(quantiles))


def _recent_inputs(day: Day, symbols: list[str]) -> pd.DataFrame:
    """The model inputs (triggers.model_inputs) of the last DRIFT_WINDOW trading days."""
    from market_predictor.features import WARMUP_ROWS, build_features

    since = calendar.shift_trading_days(day.as_of, -DRIFT_WINDOW, day.settings.calendar)
    start = calendar.shift_trading_days(since, -WARMUP_ROWS - 5, day.settings.calendar)
    prices = day.store.prices().read(symbols, start=start, end=day.as_of)
    if prices.empty:  # no closes in the window (a day past the stored history): no tests
        return pd.DataFrame(columns=["symbol", "date", *DRIFT_INPUTS])
    inputs = model_inputs(build_features(prices))
    return inputs[inputs["date"] > pd.Timestamp(since)]


def _lookback_start(day: Day) -> dt.date | None:
    """The first day whose predictions and errors a day's monitoring reads: the
    next-day tests use a symbol's last PERFORMANCE_WINDOW realised errors, which a symbol
    predicted every trading day has within that many trading days; LOOKBACK_WINDOWS of
    them leave room for gaps, hold the longest window of a longer horizon's tests
    (triggers.LONGEST_TEST_WINDOW) and keep a day's reads from growing with the years of
    history."""
    try:
        return calendar.shift_trading_days(
            day.as_of, -LOOKBACK_WINDOWS * PERFORMANCE_WINDOW, day.settings.calendar
        )
    except InputError:
        return None  # the calendar begins inside the lookback: read from its start


def _one_per_target(made: pd.DataFrame) -> pd.DataFrame:
    """Forecasts of one target (symbol, date, horizon, version) made as of two days (a
    weekend run) reduced to the later one: the forecast that was served."""
    made = made.sort_values(["symbol", "target_date", "model_version", "as_of_date"])
    return made.drop_duplicates(list(error_table.KEY), keep="last").reset_index(drop=True)


def _awaiting_their_day(day: Day) -> int:
    """Forecasts made by the day whose target day is still ahead of it."""
    return len(
        day.store.predictions.read_rows(
            day.symbols,
            day.model_name,
            as_of_end=day.as_of,
            target_after=day.as_of,
            columns=["symbol"],
        )
    )


def _latest_version(errors: pd.DataFrame) -> str | None:
    if errors.empty:
        return None
    return str(error_table.served(errors).sort_values("target_date")["model_version"].iloc[-1])

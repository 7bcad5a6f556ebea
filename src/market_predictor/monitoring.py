"""Realised error of every served prediction, rolling skill against persistence, and
the retrain triggers: coverage, skill, input-drift and scale tests whose thresholds account
for their sample size and for the number of tests a day runs (market_predictor.triggers).

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
from market_predictor.checks import check_not_future
from market_predictor.config import Settings
from market_predictor.errors import InputError, NotFoundError
from market_predictor.evaluation import mase
from market_predictor.results import MonitorResult, SymbolSkill
from market_predictor.store import (
    FeatureStore,
    read_errors,
    read_predictions,
    read_prices,
    schemas,
)
from market_predictor.symbols import checked_symbols
from market_predictor.triggers import (
    DRIFT_INPUTS,
    DRIFT_WINDOW,
    PERFORMANCE_WINDOW,
    DriftReference,
    Evidence,
    TriggerTest,
    model_inputs,
    per_test_level,
    run_all,
    strongest,
    trigger_count,
)

if TYPE_CHECKING:
    from market_predictor.registry import ChampionModel

SKILL_COLUMNS = (
    "n",
    "mae",
    "persistence_mae",
    "mase",
    "coverage",
    "directional_accuracy",
)
TEST_COLUMNS = ("test", "statistic", "threshold", "test_window", "p_value")
LOOKBACK_WINDOWS = 3  # performance windows of history a day's monitoring reads


# -- the pure parts ----------------------------------------------------------------------


def realised_errors(predictions: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Error rows (the ERRORS schema) for the predictions whose target date has a close
    in `prices`. `pct_error` is the absolute percentage error; `direction_correct` is
    null when the forecast called no move (persistence)."""
    actuals = prices.loc[:, ["symbol", "date", "close"]].rename(
        columns={"date": "target_date", "close": "actual_close"}
    )
    rows = predictions.merge(actuals, on=["symbol", "target_date"], how="inner")
    actual = rows["actual_close"].to_numpy(dtype="float64")
    predicted = rows["predicted_close"].to_numpy(dtype="float64")
    last = rows["last_close"].to_numpy(dtype="float64")
    abs_error = np.abs(predicted - actual)
    predicted_move = np.sign(predicted - last)
    actual_move = np.sign(actual - last)
    direction = pd.Series(predicted_move == actual_move, dtype="boolean")
    direction[predicted_move == 0] = pd.NA
    return pd.DataFrame(
        {
            "symbol": rows["symbol"],
            "target_date": rows["target_date"],
            "as_of_date": rows["as_of_date"],
            "model_name": rows["model_name"],
            "model_version": rows["model_version"],
            "actual_close": actual,
            "predicted_close": predicted,
            "lower": rows["lower"].to_numpy(dtype="float64"),
            "upper": rows["upper"].to_numpy(dtype="float64"),
            "last_close": last,
            "abs_error": abs_error,
            "pct_error": abs_error / actual * 100.0,
            "persistence_abs_error": np.abs(last - actual),
            "inside_interval": (actual >= rows["lower"]) & (actual <= rows["upper"]),
            "direction_correct": direction.array,
            "created_at": pd.Timestamp.now(tz="UTC"),
        }
    )


def served_errors(errors: pd.DataFrame) -> pd.DataFrame:
    """One error row per (symbol, target_date): the newest model version's forecast
    when a retrain put two versions on the same day."""
    if errors.empty:
        return errors
    ranked = errors.assign(_version=pd.to_numeric(errors["model_version"], errors="coerce"))
    ranked = ranked.sort_values(["symbol", "target_date", "_version"])
    latest = ranked.drop_duplicates(["symbol", "target_date"], keep="last")
    return latest.drop(columns="_version").reset_index(drop=True)


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
    recent = errors.sort_values("target_date").tail(window)
    n = len(recent)
    if n == 0:
        return {"n": 0} | {name: float("nan") for name in SKILL_COLUMNS[1:]}
    mae = float(recent["abs_error"].mean())
    persistence_mae = float(recent["persistence_abs_error"].mean())
    called = recent["direction_correct"].dropna()
    return {
        "n": n,
        "mae": mae,
        "persistence_mae": persistence_mae,
        "mase": mase(mae, persistence_mae),
        "coverage": float(recent["inside_interval"].astype(bool).mean()),
        "directional_accuracy": float(called.astype(bool).mean()) if len(called) else float("nan"),
    }


def skill_by_symbol(
    errors: pd.DataFrame, symbols: Iterable[str], window: int = PERFORMANCE_WINDOW
) -> dict[str, dict[str, Any]]:
    """`rolling_skill` of every symbol in one pass (the same numbers: each mean sums the
    same values in the same order); per-symbol frame slicing cost seconds at thousands."""
    ordered = errors.sort_values(["symbol", "target_date"], kind="stable")
    recent = ordered.groupby("symbol", sort=False).tail(window)
    names = recent["symbol"].to_numpy()
    bounds = np.flatnonzero(names[1:] != names[:-1]) + 1
    starts = np.concatenate([[0], bounds]) if len(names) else np.array([], dtype=int)
    ends = np.concatenate([bounds, [len(names)]]) if len(names) else np.array([], dtype=int)
    abs_error = recent["abs_error"].to_numpy(dtype="float64")
    persistence = recent["persistence_abs_error"].to_numpy(dtype="float64")
    inside = recent["inside_interval"].astype(bool).to_numpy()
    called = recent["direction_correct"].notna().to_numpy()
    correct = recent["direction_correct"].fillna(False).astype(bool).to_numpy()
    found: dict[str, dict[str, Any]] = {}
    for start, end in zip(starts, ends, strict=True):
        n = int(end - start)
        mae = _nanmean(abs_error[start:end])
        persistence_mae = _nanmean(persistence[start:end])
        n_called = int(called[start:end].sum())
        found[str(names[start])] = {
            "n": n,
            "mae": mae,
            "persistence_mae": persistence_mae,
            "mase": mae / persistence_mae if persistence_mae > 0 else float("nan"),
            "coverage": float(inside[start:end].sum() / n),
            "directional_accuracy": float(correct[start:end].sum() / n_called)
            if n_called
            else float("nan"),
        }
    empty = {"n": 0} | {name: float("nan") for name in SKILL_COLUMNS[1:]}
    return {symbol: found.get(symbol, dict(empty)) for symbol in symbols}


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
) -> list[TriggerTest]:
    """Every trigger test of one symbol: coverage, skill and bias over its last
    PERFORMANCE_WINDOW realised errors (none below MIN_REALISED_ERRORS), drift of its
    last `window` model inputs against the champion's stored reference and the scale of
    its last SCALE_WINDOW days (a model trained before issue 9 has no current reference:
    its inputs are not tested)."""
    recent = errors.sort_values("target_date").tail(PERFORMANCE_WINDOW)
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
    )


def _tests(
    recent: Mapping[str, np.ndarray],
    window: pd.DataFrame | Mapping[str, np.ndarray] | None,
    symbol: str,
    reference: DriftReference | None,
    nominal_coverage: float,
    level: float,
) -> list[TriggerTest]:
    """symbol_tests on one symbol's last errors and (None: untested) inputs in date order."""
    return run_all(Evidence(recent, window, nominal_coverage), reference, symbol, level)


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


def monitor(
    settings: Settings,
    *,
    as_of: dt.date | None = None,
    symbols: list[str] | None = None,
    model_name: str | None = None,
    champion: ChampionModel | None = None,
    store: FeatureStore | None = None,
) -> MonitorResult:
    """Write the realised errors that became known by `as_of` and the per-symbol
    summary for `as_of` (rolling skill, drift, retrain flag)."""
    store = store or FeatureStore.from_settings(settings)
    symbols = checked_symbols(symbols) if symbols is not None else None
    name = model_name or (champion.name if champion else settings.model_name)
    prices = store.prices()
    check_not_future(as_of)
    if not store.predictions.exists():
        return MonitorResult(
            as_of=as_of,
            model_name=name,
            message="nothing to monitor yet: no predictions have been made (run `mpp predict`)",
        )
    if as_of is None:
        last = prices.last_dates(symbols)
        if not last:
            raise InputError("no prices in the store: run `mpp ingest` first")
        as_of = max(last.values())
    store.ensure_writable()
    if champion is None:
        champion = _champion_or_none(settings, name)

    since = _lookback_start(settings, as_of)
    made = _predictions_due(store, name, as_of, symbols, since)
    known = read_errors(
        store, model_name=name, start=since, end=as_of, columns=list(schemas.ERROR_KEY)
    )
    pending = _without(made, known, list(schemas.ERROR_KEY))
    summary = MonitorResult(as_of=as_of, model_name=name)
    if not pending.empty:
        actuals = read_prices(
            store,
            symbols=sorted(set(pending["symbol"])),
            start=pending["target_date"].min().date(),
            end=as_of,
            columns=["symbol", "date", "close"],
        )
        new = realised_errors(pending, actuals)
        summary.pending = len(pending) - len(new)
        if not new.empty:
            result = store.errors.upsert(
                new,
                keys=schemas.ERROR_KEY,
                compare=[
                    c for c in schemas.ERRORS.names if c not in (*schemas.ERROR_KEY, "created_at")
                ],
                metadata={"mpp_command": "monitor", "as_of": as_of.isoformat()},
            )
            summary.new_errors = result.inserted

    summary.pending += _awaiting_their_day(store, name, as_of, symbols)
    rows, summary.test_level = _summary_rows(settings, store, name, as_of, symbols, champion)
    summary.alpha = settings.trigger_alpha
    if rows.empty:
        summary.message = f"no predictions of {name} on or before {as_of}"
        return summary
    result = store.summary.upsert(
        rows,
        keys=schemas.SUMMARY_KEY,
        compare=[c for c in schemas.SUMMARY.names if c not in (*schemas.SUMMARY_KEY, "created_at")],
        metadata={"mpp_command": "monitor", "as_of": as_of.isoformat()},
    )
    summary.summary_table_version = result.version
    summary.errors_table_version = store.errors.version()
    summary.symbols = {
        row["symbol"]: SymbolSkill.model_validate(
            {
                **{
                    key: row[key]
                    for key in (*SKILL_COLUMNS, *TEST_COLUMNS, "retrain_recommended", "reason")
                },
                "tests": row["tests"],
            }
        )
        for row in rows.to_dict("records")
    }
    flagged = summary.reasons
    summary.message = (
        f"retraining recommended for {', '.join(flagged)}" if flagged else "skill within limits"
    )
    return summary


def _summary_rows(
    settings: Settings,
    store: FeatureStore,
    name: str,
    as_of: dt.date,
    symbols: list[str] | None,
    champion: ChampionModel | None,
) -> tuple[pd.DataFrame, float | None]:
    """One summary row per symbol that has a prediction made on or before `as_of`, and
    the level each of the day's tests ran at."""
    since = _lookback_start(settings, as_of)
    predicted = read_predictions(
        store, symbols, name, as_of_start=since, as_of_end=as_of, columns=["symbol"]
    )
    monitored = sorted(set(predicted["symbol"]))
    if not monitored:
        return pd.DataFrame(columns=schemas.SUMMARY.names), None
    errors = served_errors(read_errors(store, monitored, name, start=since, end=as_of))
    reference = DriftReference.from_dict(getattr(champion, "drift_profile", None))
    inputs = _recent_inputs(settings, store, as_of, monitored) if reference is not None else None
    level = per_test_level(settings.trigger_alpha, len(monitored), trigger_count(reference))
    nominal = _nominal_coverage(champion)
    version = champion.version if champion is not None else _latest_version(errors)
    now = pd.Timestamp.now(tz="UTC")
    records = []
    skills = skill_by_symbol(errors, monitored)
    error_columns = ("inside_interval", "abs_error", "persistence_abs_error", "scaled_error")
    no_errors = {column: np.empty(0) for column in error_columns}
    recent_errors = _last_rows(
        errors.astype({"inside_interval": bool}).assign(scaled_error=scaled_errors(errors)),
        "target_date",
        PERFORMANCE_WINDOW,
        error_columns,
    )
    windows: dict[str, dict[str, np.ndarray]] | None = None
    no_inputs: dict[str, np.ndarray] = {}
    if inputs is not None and reference is not None:
        columns = [column for column in inputs.columns if column not in ("symbol", "date")]
        windows = _last_rows(inputs, "date", reference.window, columns)
        no_inputs = {column: np.empty(0) for column in columns}
    for symbol in monitored:
        skill = skills[symbol]
        window = None if windows is None else windows.get(symbol, no_inputs)
        recent = recent_errors.get(symbol, no_errors)
        tests = _tests(recent, window, symbol, reference, nominal, level)
        top = strongest(tests)
        fired = [test for test in tests if test.fired]
        records.append(
            {
                "date": as_of,
                "symbol": symbol,
                "model_name": name,
                "model_version": version,
                "window": PERFORMANCE_WINDOW,
                **skill,
                "test": top.test if top else None,
                "statistic": top.statistic if top else None,
                "threshold": top.threshold if top else None,
                "test_window": top.window if top else None,
                "p_value": top.p_value if top else None,
                "tests": json.dumps([test.model_dump() for test in tests]),
                "retrain_recommended": bool(fired),
                "reason": "; ".join(test.describe() for test in fired),
                "created_at": now,
            }
        )
    return pd.DataFrame.from_records(records), level


def _nominal_coverage(champion: ChampionModel | None) -> float:
    """The served interval's nominal coverage (0.8 for the 10%-90% interval)."""
    from market_predictor.evaluation import DEFAULT_QUANTILES

    quantiles = champion.forecaster.quantiles if champion is not None else DEFAULT_QUANTILES
    return float(max(quantiles) - min(quantiles))


def _recent_inputs(
    settings: Settings, store: FeatureStore, as_of: dt.date, symbols: list[str]
) -> pd.DataFrame:
    """The model inputs (triggers.model_inputs) of the last DRIFT_WINDOW trading days."""
    from market_predictor.features import WARMUP_ROWS, build_features

    since = calendar.shift_trading_days(as_of, -DRIFT_WINDOW, settings.calendar)
    start = calendar.shift_trading_days(since, -WARMUP_ROWS - 5, settings.calendar)
    prices = read_prices(store, symbols, start=start, end=as_of)
    if prices.empty:  # no closes in the window (a day past the stored history): no tests
        return pd.DataFrame(columns=["symbol", "date", *DRIFT_INPUTS])
    inputs = model_inputs(build_features(prices))
    return inputs[inputs["date"] > pd.Timestamp(since)]


def _lookback_start(settings: Settings, as_of: dt.date) -> dt.date | None:
    """The first day whose predictions and errors a day's monitoring reads: the tests
    use a symbol's last PERFORMANCE_WINDOW realised errors, which a symbol predicted
    every trading day has within that many trading days; LOOKBACK_WINDOWS of them leave
    room for gaps and keep a day's reads from growing with the years of history."""
    try:
        return calendar.shift_trading_days(
            as_of, -LOOKBACK_WINDOWS * PERFORMANCE_WINDOW, settings.calendar
        )
    except InputError:
        return None  # the calendar begins inside the lookback: read from its start


def _predictions_due(
    store: FeatureStore,
    name: str,
    as_of: dt.date,
    symbols: list[str] | None,
    since: dt.date | None,
) -> pd.DataFrame:
    """Predictions whose target day is in [since, as_of]; when two as-of dates aimed at
    the same target (a weekend run), the later one is the forecast that was served."""
    made = read_predictions(store, symbols, name, target_start=since, target_end=as_of)
    made = made.sort_values(["symbol", "target_date", "model_version", "as_of_date"])
    return made.drop_duplicates(list(schemas.ERROR_KEY), keep="last").reset_index(drop=True)


def _awaiting_their_day(
    store: FeatureStore, name: str, as_of: dt.date, symbols: list[str] | None
) -> int:
    """Forecasts made by `as_of` whose target day is still ahead of it."""
    return len(
        read_predictions(
            store, symbols, name, as_of_end=as_of, target_after=as_of, columns=["symbol"]
        )
    )


def _without(frame: pd.DataFrame, other: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if other.empty or frame.empty:
        return frame
    marked = frame.merge(other[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    return marked[marked["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)


def _champion_or_none(settings: Settings, name: str) -> ChampionModel | None:
    from market_predictor.registry import load_champion

    try:
        return load_champion(settings, name)
    except NotFoundError:
        return None  # predictions without a champion: skill is still measurable, drift is not


def _latest_version(errors: pd.DataFrame) -> str | None:
    if errors.empty:
        return None
    return str(served_errors(errors).sort_values("target_date")["model_version"].iloc[-1])

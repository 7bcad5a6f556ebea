"""`mpp demo`: the whole system, offline, on the real sample prices.

Ingest the four sample symbols up to 60 trading days before the sample ends, train
and register a champion on exactly that history, then replay the daily job over the
last 60 trading days, so the predictions and monitoring tables hold a real history
made the way production makes it. Re-running reuses the champion and the replay
changes no row.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pandas as pd

from market_predictor import calendar
from market_predictor.config import Settings
from market_predictor.day import resolve_day
from market_predictor.errors import NotFoundError
from market_predictor.pipeline import Progress, ingest_step, replay
from market_predictor.store import FeatureStore
from market_predictor.store.errors import served

DEMO_SYMBOLS = ("AAPL", "MSFT", "IBM", "GOOG")
REPLAY_DAYS = 60
# A modest budget keeps the demo within minutes on two cores; `mpp train` goes further.
DEMO_MAX_EPOCHS = 5


def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"source": "sample", "symbols": list(DEMO_SYMBOLS)})


def run_demo(
    settings: Settings,
    *,
    max_epochs: int = DEMO_MAX_EPOCHS,
    replay_days: int = REPLAY_DAYS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    from market_predictor.sources.sample import load_sample_prices

    started = time.perf_counter()
    settings = demo_settings(settings)
    symbols = list(DEMO_SYMBOLS)
    sample = load_sample_prices()
    end = sample.loc[sample["symbol"].isin(symbols), "date"].max().date()
    cut = calendar.shift_trading_days(end, -replay_days, settings.calendar)
    first_day = calendar.next_trading_day(cut, settings.calendar)

    # Nothing is trained yet: the demo's first ingest runs without a champion.
    ingested = ingest_step(
        resolve_day(settings, as_of=cut, symbols=symbols, purpose="ingest"), source="sample"
    )
    champion = _ensure_champion(settings, symbols, cut, max_epochs)
    replayed = replay(
        settings,
        start=first_day,
        end=end,
        source="sample",
        symbols=symbols,
        # Retraining would make a second run predict with a newer model; the demo
        # records the recommendations instead (`mpp daily` acts on them).
        retrain=False,
        progress=progress,
    )
    store = FeatureStore.from_settings(settings)
    return {
        "home": str(settings.resolved_home),
        "train_until": cut,
        "replay_start": first_day,
        "replay_end": end,
        "ingested_rows": ingested.inserted,
        "champion": champion,
        "replay": replayed.model_dump(mode="json", exclude={"days"}),
        "retrain_recommended_days": sum(d.retrain_recommended for d in replayed.days),
        # Each day a retrain was asked for: triggered (which test, its statistic,
        # threshold and window, per symbol) or scheduled (the champion's age).
        "trigger_decisions": [
            {"as_of": d.as_of.isoformat(), "trigger": d.retrain_trigger, "reasons": d.reasons}
            for d in replayed.days
            if d.retrain_trigger is not None
        ],
        "symbols": symbol_table(store, settings.model_name, first_day, end, settings.calendar),
        "table_rows": {
            "predictions": _rows(store, "predictions", first_day, end),
            "errors": _rows(store, "errors", first_day, end),
            "summary": _rows(store, "summary", first_day, end),
        },
        "mlflow_ui": f"mlflow ui --backend-store-uri {settings.resolved_tracking_uri}",
        "seconds": round(time.perf_counter() - started, 1),
        "failed_step": replayed.failed_step,
    }


def _ensure_champion(
    settings: Settings, symbols: list[str], cut: dt.date, max_epochs: int
) -> dict[str, Any]:
    """The champion trained on data up to `cut`: reused when a previous run made it,
    else trained now (training itself falls back to the persistence baseline as
    champion when the network does not beat it)."""
    from market_predictor.registry import load_champion
    from market_predictor.training import train

    try:
        existing = load_champion(settings, settings.model_name)
    except NotFoundError:
        existing = None
    if existing is not None and existing.trained_until <= cut:
        return _describe(existing, "reused from an earlier run")
    trained = train(
        settings,
        symbols=symbols,
        end=cut,
        max_epochs=max_epochs,
        model_name=settings.model_name,
        promote=True,
        tags={"trained_by": "mpp demo"},
    )
    described = _describe(load_champion(settings, settings.model_name), trained.message)
    described["validation"] = trained.model_dump(mode="json")["metrics"]
    return described


def _describe(champion: Any, note: str) -> dict[str, Any]:
    from market_predictor.models.pyfunc import forecaster_kind

    return {
        "name": champion.name,
        "version": str(champion.version),
        "is_baseline": champion.is_baseline,
        "kind": forecaster_kind(champion.forecaster),
        "trained_until": champion.trained_until,
        "how": note,
    }


def symbol_table(
    store: FeatureStore, model_name: str, start: dt.date, end: dt.date, calendar_name: str
) -> dict[str, dict[str, Any]]:
    """Per symbol over the replayed days: MAE and MASE against persistence, interval
    coverage, the served interval's backtests and the latest forecast."""
    from market_predictor.interval_tests import interval_backtest
    from market_predictor.monitoring import rolling_skill

    errors = served(
        store.errors.read_rows(
            model_name=model_name, start=start, end=calendar.next_trading_day(end, calendar_name)
        )
    )
    predictions = store.predictions.read_rows(model_name=model_name, as_of_end=end)
    errors = errors[errors["horizon"] == 1]  # the replay's skill: next-day forecasts
    scales = _latest_scales(store, model_name, end)
    table: dict[str, dict[str, Any]] = {}
    for symbol in sorted(set(predictions["symbol"])):
        rows = errors[errors["symbol"] == symbol].sort_values("target_date")
        skill = rolling_skill(rows, window=len(rows))
        # Kupiec and Christoffersen on the intervals the replay served (the online scale
        # included): the tests a risk desk runs on its own VaR.
        tests = interval_backtest(rows["actual_close"], rows["lower"], rows["upper"])
        mine = predictions[predictions["symbol"] == symbol]
        latest = mine[mine["as_of_date"] == mine["as_of_date"].max()].sort_values("horizon")
        ranges = [
            {
                "horizon": int(row["horizon"]),
                "target_date": pd.Timestamp(row["target_date"]).date(),
                "predicted_close": float(row["predicted_close"]),
                "lower": float(row["lower"]),
                "upper": float(row["upper"]),
            }
            for row in latest.to_dict("records")
        ]
        table[symbol] = {
            "n": skill["n"],
            **{
                key: None if pd.isna(skill[key]) else round(skill[key], 4)
                for key in ("mae", "persistence_mae", "mase", "coverage")
            },
            "latest": next(r for r in ranges if r["horizon"] == 1),
            "horizons": ranges,
            "interval_scale": scales.get(symbol),
            "interval_tests": tests.model_dump(mode="json"),
        }
    return table


def _latest_scales(
    store: FeatureStore, model_name: str, end: dt.date
) -> dict[str, dict[str, float]]:
    """Each symbol's newest online next-day interval scale (lower and upper tails' width
    multipliers; 1 is the trained interval)."""
    if not store.scales.exists():
        return {}
    rows = store.scales.read_rows(model_name=model_name, end=end)
    rows = rows[rows["horizon"] == 1].sort_values("date").drop_duplicates("symbol", keep="last")
    return {
        str(row["symbol"]): {
            "lower": round(float(np.exp(row["log_scale_lower"])), 3),
            "upper": round(float(np.exp(row["log_scale_upper"])), 3),
        }
        for row in rows.to_dict("records")
    }


def _rows(store: FeatureStore, table: str, start: dt.date, end: dt.date) -> int:
    reads = {
        "predictions": lambda: store.predictions.read_rows(
            as_of_start=start, as_of_end=end, columns=["symbol"]
        ),
        "errors": lambda: store.errors.read_rows(start=start, end=end, columns=["symbol"]),
        "summary": lambda: store.summary.read_rows(start=start, end=end, columns=["symbol"]),
    }
    return len(reads[table]())

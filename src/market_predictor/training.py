"""Training, the pipeline stage behind `mpp train`: fit a network on a training
dataset, compare it with persistence, drift and the champion on the most recent
held-out window, log everything to MLflow and let the registry's gate decide.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from market_predictor.checks import check_range
from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.features import build_features
from market_predictor.results import TrainResult
from market_predictor.symbols import checked_symbols

if TYPE_CHECKING:
    from market_predictor.models.forecaster import Forecaster
    from market_predictor.store import TrainingDataset

from market_predictor.fitting import (
    check_history,
    compare_on_common_rows,
    fit_baseline,
    fit_forecaster,
    forecasts_with_outcomes,
    validation_start_for,
)
from market_predictor.train_config import NETWORK_DISPLAY_NAMES, TrainConfig, load_train_config

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def held_out_windows(rows: pd.DataFrame, config: TrainConfig) -> tuple[dt.date, dt.date]:
    """The gate's window (the last `validation_months`) and, before it, the early-stopping
    window (half as long), each checked to hold samples; InputError otherwise."""
    validation_start = validation_start_for(rows, config.validation_months)
    check_history(rows, config, validation_start)
    before_validation = rows[pd.to_datetime(rows["date"]) < pd.Timestamp(validation_start)]
    stopping_start = validation_start_for(before_validation, max(1, config.validation_months // 2))
    check_history(before_validation, config, stopping_start)
    return validation_start, stopping_start


def _garch_or_none(
    prices: pd.DataFrame, quantiles: Sequence[float], held_out_start: dt.date
) -> Forecaster | None:
    """The GARCH rival, or None when no symbol has enough returns to fit it."""
    try:
        return fit_baseline("garch", prices, quantiles, held_out_start)
    except ValueError:
        return None


def check_model_name(name: str) -> str:
    if not _MODEL_NAME.match(name):
        raise InputError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' (max 100)"
        )
    return name


def train(
    settings: Settings,
    *,
    symbols: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    dataset_version: int | None = None,
    model: str | None = None,
    max_epochs: int | None = None,
    model_name: str | None = None,
    promote: bool = True,
    config_overrides: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> TrainResult:
    """Train, evaluate against persistence and the champion, register, gate.

    Every input is checked before anything is written (dataset, run or version).
    `tags` are added to the run and the registered version (e.g. `retrain` reasons).
    """
    import mlflow
    from lightning.pytorch.loggers import MLFlowLogger

    from market_predictor import registry
    from market_predictor.plots import forecast_figure, residuals_figure
    from market_predictor.store import FeatureStore
    from market_predictor.tracking import (
        check_tracking,
        configure_tracking,
        ensure_experiment,
    )
    from market_predictor.triggers import drift_reference

    overrides = dict(config_overrides or {})
    if model is not None:
        overrides["model"] = model
    if max_epochs is not None:
        overrides["max_epochs"] = max_epochs
    config = load_train_config(settings, overrides)
    name = check_model_name(model_name or settings.model_name)
    if dataset_version is not None and (symbols or start or end):
        raise InputError(
            "dataset_version fixes symbols and dates: give no symbols, start or end with it",
            param="dataset_version",
        )
    check_range(start, end)
    # Reachability first (a clear error naming the URI); the database itself is only
    # created once every input has passed, so bad input leaves no trace.
    check_tracking(settings)

    store = FeatureStore.from_settings(settings)
    dataset: TrainingDataset
    if dataset_version is not None:
        dataset, rows = store.datasets.read(dataset_version)
        validation_start, stopping_start = held_out_windows(rows, config)
    else:
        prices = store.prices()
        stored = prices.symbols() if prices.table_version() is not None else []
        if not stored:
            raise InputError("the feature store holds no prices yet: run `mpp ingest` first")
        wanted = checked_symbols(symbols) if symbols else None
        missing = sorted(set(wanted or []) - set(stored))
        if missing:
            raise InputError(
                f"symbol(s) not in the feature store: {', '.join(missing)} "
                f"(it holds {', '.join(stored)})"
            )
        rows = prices.read(wanted, start, end)
        if rows.empty:
            raise InputError(f"no price rows between {start or 'the start'} and {end or 'the end'}")
        held_out_windows(rows, config)
        first = pd.Timestamp(rows["date"].min()).date()
        last = pd.Timestamp(rows["date"].max()).date()
        dataset = store.datasets.create(prices, start or first, end or last, wanted, reuse=True)
        dataset, rows = store.datasets.read(dataset.version)
        validation_start, stopping_start = held_out_windows(rows, config)

    client = configure_tracking(settings)
    trained_until = pd.Timestamp(rows["date"].max()).date()
    before_validation = rows[pd.to_datetime(rows["date"]) < pd.Timestamp(validation_start)]
    # Every rival gets the network's treatment: fitted before the early-stopping months,
    # interval recalibrated on them, scored on the gate's window that none of them saw.
    persistence = fit_baseline("persistence", before_validation, config.quantiles, stopping_start)
    drift = fit_baseline("drift", before_validation, config.quantiles, stopping_start)
    garch = _garch_or_none(before_validation, config.quantiles, stopping_start)
    current = registry.champion_version(client, name)
    champion = registry.load_version(client, name, str(current.version)) if current else None

    experiment_id = ensure_experiment(client, settings)
    lineage = dataset.lineage()
    run_tags = {"model_name": name, "network": config.model, **(tags or {})}
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{config.model}-{name}") as run:
        run_id = run.info.run_id
        mlflow.set_tags({**run_tags, **{f"lineage.{k}": v for k, v in lineage.items()}})
        mlflow.log_params({**_flat(config.model_dump(mode="json")), **lineage})
        mlflow.log_param("validation_start", validation_start.isoformat())
        mlflow.log_param("early_stopping_start", stopping_start.isoformat())
        # The network never sees the gate's window: it fits before `stopping_start` and
        # early-stops (and picks its median) on [stopping_start, validation_start).
        network = fit_forecaster(
            before_validation,
            config,
            validation_start=stopping_start,
            # Lightning logs each epoch's train/val loss into this very run.
            logger=MLFlowLogger(tracking_uri=settings.resolved_tracking_uri, run_id=run_id),
        )
        results = {
            "model": forecasts_with_outcomes(network, rows, validation_start),
            "persistence": forecasts_with_outcomes(persistence, rows, validation_start),
            "drift": forecasts_with_outcomes(drift, rows, validation_start),
        }
        if garch is not None:
            garch_rows = forecasts_with_outcomes(garch, rows, validation_start)
            # GARCH needs more history per symbol than the network: where it cannot
            # forecast every row the others do, it is no rival (the gate compares all
            # forecasters on common rows only, and must not lose rows to it).
            if len(garch_rows) == len(results["model"]):
                results["garch"] = garch_rows
            else:
                garch = None
        if champion is not None:
            results["champion"] = forecasts_with_outcomes(
                champion.forecaster, rows, validation_start
            )
        metrics = compare_on_common_rows(results, config.quantiles)
        for who, values in metrics.items():
            mlflow.log_metrics({f"val_{who}_{k}": float(v) for k, v in values.items()})
        _log_figures(results["model"], config.model, forecast_figure, residuals_figure)

        champion_pinball = metrics["champion"]["pinball"] if champion is not None else None
        garch_pinball = metrics["garch"]["pinball"] if garch is not None else None
        decision = registry.gate(
            metrics["model"]["pinball"],
            metrics["persistence"]["pinball"],
            champion_pinball,
            garch_pinball,
        )
        gate_tags = {
            "gate_decision": decision.decision,
            "gate_reason": decision.reason,
            "val_pinball_model": f"{metrics['model']['pinball']:.6g}",
            "val_pinball_persistence": f"{metrics['persistence']['pinball']:.6g}",
            "val_pinball_champion": "" if champion_pinball is None else f"{champion_pinball:.6g}",
            "val_pinball_garch": "" if garch_pinball is None else f"{garch_pinball:.6g}",
            "validation_start": validation_start.isoformat(),
            "compared_with_champion": "" if champion is None else champion.version,
            "dataset_version": lineage["dataset_version"],
            "median_source": getattr(network, "median_source", "network"),
            **(tags or {}),
        }
        mlflow.set_tags(gate_tags)
        version = registry.register_forecaster(
            client,
            name,
            network,
            trained_until=trained_until,
            drift_profile=drift_reference(build_features(rows)),
            tags={**gate_tags, "network": config.model},
        )
        client.set_registered_model_alias(name, registry.CHALLENGER, version)

    baseline_version = None
    garch_version = None
    fallback_tags = {
        "source_run_id": run_id,
        "val_pinball_persistence": gate_tags["val_pinball_persistence"],
        "val_pinball_model": gate_tags["val_pinball_model"],
        "val_pinball_garch": gate_tags["val_pinball_garch"],
        "validation_start": validation_start.isoformat(),
        **(tags or {}),
    }
    garch_wins = (
        garch_pinball is not None
        and garch_pinball < metrics["model"]["pinball"]
        and registry.gate(
            garch_pinball, metrics["persistence"]["pinball"], champion_pinball
        ).promote
    )
    if promote and decision.promote:
        registry.set_champion(client, name, version, promoted_by="gate")
    elif promote and garch_wins:
        garch_version = registry.register_rival(
            settings,
            name,
            garch,  # type: ignore[arg-type]
            promote=True,
            trained_until=trained_until,
            profile_rows=rows,
            tags={"gate_decision": "garch_promoted", **fallback_tags},
        )
    elif promote and champion is None:
        baseline_version = registry.register_baseline(
            settings,
            name,
            promote=True,
            trained_until=trained_until,
            prices=before_validation,
            tags={"gate_decision": "baseline_fallback", **fallback_tags},
        )
    final = registry.champion_version(client, name)
    champion_now = None if final is None else str(final.version)
    summary = TrainResult(
        run_id=run_id,
        model_name=name,
        version=version,
        is_baseline=baseline_version is not None and champion_now == baseline_version,
        became_champion=champion_now == version,
        champion_version=champion_now,
        decision=decision.decision if promote else f"not_promoted ({decision.decision})",
        metrics={
            "model": metrics["model"],
            "persistence": metrics["persistence"],
            "drift": metrics["drift"],
            "garch": metrics.get("garch"),
            "champion": metrics.get("champion"),
        },
        lineage=lineage,
        message="",
        network=config.model,
        baseline_version=baseline_version,
        garch_version=garch_version,
        validation_start=validation_start.isoformat(),
        epochs_trained=getattr(network, "epochs_trained", None),
        median_source=getattr(network, "median_source", None),
    )
    summary.message = outcome_message(summary, champion.version if champion else None, promote)
    return summary


def outcome_message(summary: TrainResult, previous: str | None, promote: bool) -> str:
    """Plain sentences on what happened, what serves forecasts now and, when the
    network's median fell back to the last close, that its gain is the interval."""
    message = _gate_sentence(summary, previous, promote)
    if summary.median_source == "persistence":
        message += (
            " Its median forecast is the last close: the network's median did not beat"
            " no-change significantly on the months before the validation window, so what"
            " it adds is a better-calibrated interval."
        )
    return message


def _gate_sentence(summary: TrainResult, previous: str | None, promote: bool) -> str:
    network = NETWORK_DISPLAY_NAMES.get(summary.network, summary.network)
    model = _pinball(summary, "model")
    naive = _pinball(summary, "persistence")
    champion = _pinball(summary, "champion")
    versus = f"(pinball {model:.5f} vs {naive:.5f})"
    if summary.decision == "promoted":
        rival = f" and champion version {previous} ({champion:.5f})" if previous else ""
        return (
            f"The {network} beat persistence {versus}{rival} on the validation window; "
            f"it is version {summary.version} and now champion."
        )
    if summary.garch_version is not None:
        garch = _pinball(summary, "garch")
        return (
            f"GARCH(1,1)-t beat the {network} and persistence on the validation window "
            f"(pinball {garch:.5f} vs {model:.5f} and {naive:.5f}); it was registered as "
            f"version {summary.garch_version} and is champion (the {network} is version "
            f"{summary.version}, challenger)."
        )
    if summary.baseline_version is not None:
        return (
            f"The {network} did not beat persistence on the validation window {versus}; "
            f"the persistence baseline was registered as version {summary.baseline_version} "
            f"and is champion (the {network} is version {summary.version}, challenger)."
        )
    if summary.decision.endswith("rejected_vs_champion)") or summary.decision == (
        "rejected_vs_champion"
    ):
        lost = (
            f"The {network} beat persistence {versus} but not champion version {previous} "
            f"({champion:.5f})"
        )
    elif "rejected_vs_persistence" in summary.decision:
        lost = f"The {network} did not beat persistence on the validation window {versus}"
    else:
        lost = f"The {network} passed the gate {versus}"
    if not promote:
        left = f"at version {summary.champion_version}" if summary.champion_version else "unset"
        return (
            f"{lost}; it is version {summary.version} (challenger) and promotion was off, "
            f"which left the champion {left}."
        )
    return (
        f"{lost}; it is version {summary.version} (challenger) and champion stays version "
        f"{summary.champion_version}."
    )


def _pinball(summary: TrainResult, who: str) -> float:
    metrics = summary.metrics.get(who)
    return float("nan") if metrics is None or metrics.pinball is None else metrics.pinball


def _log_figures(rows: pd.DataFrame, network: str, *figures: Any) -> None:
    import matplotlib.pyplot as plt
    import mlflow

    if rows.empty:
        return
    for make, filename in zip(figures, ("validation_forecasts.png", "residuals.png"), strict=True):
        figure = make(
            rows, title=f"{NETWORK_DISPLAY_NAMES.get(network, network)} on the validation window"
        )
        mlflow.log_figure(figure, f"plots/{filename}")
        plt.close(figure)


def _flat(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        key: ",".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        for key, value in values.items()
    }

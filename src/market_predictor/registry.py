"""The MLflow model registry: versions, the `champion`/`challenger` aliases, loading.

Every training run registers a version and marks it `challenger`; `champion` moves
only when the gate (market_predictor.training.gate) decides so or on a manual
promote, and every version records why in its tags. The persistence baseline and
the rivals that may serve are registered here too, each from a run of its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from market_predictor.config import Settings
from market_predictor.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

    from market_predictor.models.forecaster import Forecaster

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass
class ChampionModel:
    name: str
    version: str
    run_id: str
    is_baseline: bool
    min_history: int
    # Rows the daily job reads of a symbol (Forecaster.read_rows).
    read_rows: int
    drift_profile: dict[str, Any]
    trained_until: dt.date
    forecaster: Forecaster
    tags: dict[str, str] = field(default_factory=dict)

    def predict(self, prices: pd.DataFrame) -> pd.DataFrame:
        """FORECAST_COLUMNS, one row per symbol with at least `min_history` rows."""
        return self.forecaster.predict(prices)


def _client(settings: Settings) -> MlflowClient:
    from market_predictor.tracking import configure_tracking

    return configure_tracking(settings)


def _reader(settings: Settings, missing: str) -> MlflowClient:
    """A client on an existing registry; NotFoundError(`missing`) when nothing was ever
    tracked here, without creating the database by looking."""
    from market_predictor.tracking import open_existing

    client = open_existing(settings)
    if client is None:
        raise NotFoundError(missing)
    return client


def champion_version(client: MlflowClient, name: str) -> ModelVersion | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def load_version(client: MlflowClient, name: str, version: str) -> ChampionModel:
    """Load a registered version's forecaster from its pyfunc artifact."""
    from market_predictor.models.pyfunc import history_rows, load_registered

    model_version = client.get_model_version(name, version)
    forecaster, spec = load_registered(f"models:/{name}/{version}")
    min_history, read_rows = history_rows(spec)
    return ChampionModel(
        name=name,
        version=str(model_version.version),
        run_id=model_version.run_id or "",
        is_baseline=bool(spec["is_baseline"]),
        min_history=min_history,
        read_rows=read_rows,
        drift_profile=spec["drift_profile"],
        trained_until=dt.date.fromisoformat(spec["trained_until"]),
        forecaster=forecaster,
        tags=dict(model_version.tags),
    )


def load_champion(settings: Settings, model_name: str | None = None) -> ChampionModel:
    name = model_name or settings.model_name
    client = _reader(settings, f"no champion registered for {name!r}: run `mpp train` first")
    current = champion_version(client, name)
    if current is None:
        raise NotFoundError(f"no champion registered for {name!r}: run `mpp train` first")
    return load_version(client, name, str(current.version))


def registry_exists(settings: Settings) -> bool:
    """False when the embedded MLflow database was never created (nothing trained);
    readers check first so that looking does not create an empty registry."""
    from market_predictor.tracking import sqlite_path

    path = sqlite_path(settings.resolved_tracking_uri)
    return path is None or path.exists()


def register_forecaster(
    client: MlflowClient,
    name: str,
    forecaster: Forecaster,
    *,
    trained_until: dt.date,
    drift_profile: dict[str, Any],
    tags: Mapping[str, str],
) -> str:
    """Log `forecaster` as a pyfunc in the active run, register it under `name` and
    tag the version; returns the version."""
    from market_predictor.models.pyfunc import log_forecaster

    info = log_forecaster(
        forecaster,
        trained_until=trained_until,
        drift_profile=drift_profile,
        registered_model_name=name,
    )
    version = str(info.registered_model_version)
    base_tags = {
        "is_baseline": str(forecaster.is_baseline).lower(),
        "trained_until": trained_until.isoformat(),
        "model_type": type(forecaster).__name__,
    }
    for key, value in {**base_tags, **tags}.items():
        client.set_model_version_tag(name, version, key, str(value))
    return version


def set_champion(client: MlflowClient, name: str, version: str, promoted_by: str) -> None:
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "promoted_by", promoted_by)
    client.set_model_version_tag(
        name, version, "promoted_at", pd.Timestamp.now(tz="UTC").isoformat()
    )


def register_baseline(
    settings: Settings,
    model_name: str | None = None,
    *,
    promote: bool = True,
    trained_until: dt.date | None = None,
    prices: pd.DataFrame | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Register the persistence forecast as a version (flagged `is_baseline`) and, with
    `promote`, make it champion. It is calibrated on `prices` (default: every stored
    row up to `trained_until`); with no rows it keeps the normal-quantile interval."""
    from market_predictor.models.baselines import PersistenceForecaster
    from market_predictor.store import FeatureStore

    if prices is None:
        prices = FeatureStore.from_settings(settings).prices().read(end=trained_until)
    baseline = PersistenceForecaster(horizons=settings.horizons)
    if not prices.empty:
        baseline.fit(prices)
        trained_until = trained_until or pd.Timestamp(prices["date"].max()).date()
    return register_rival(
        settings,
        model_name,
        baseline,
        promote=promote,
        trained_until=trained_until or dt.date.today(),
        profile_rows=prices,
        tags=tags,
    )


def register_rival(
    settings: Settings,
    model_name: str | None,
    forecaster: Forecaster,
    *,
    promote: bool,
    trained_until: dt.date,
    profile_rows: pd.DataFrame,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Register an already fitted non-network forecaster (persistence, GARCH) in a run
    of its own and, with `promote`, make it champion; returns the version."""
    import mlflow

    from market_predictor.features import build_features
    from market_predictor.models.pyfunc import forecaster_kind
    from market_predictor.tracking import ensure_experiment, flat_params
    from market_predictor.triggers import drift_reference

    name = model_name or settings.model_name
    client = _client(settings)
    kind = forecaster_kind(forecaster)
    profile = drift_reference(build_features(profile_rows)) if not profile_rows.empty else {}
    experiment_id = ensure_experiment(client, settings)
    run_name = "persistence-baseline" if forecaster.is_baseline else f"{kind}-rival"
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.set_tags(
            {"is_baseline": str(forecaster.is_baseline).lower(), "model_name": name, **(tags or {})}
        )
        mlflow.log_params({"model": kind, **flat_params(_scalar_params(forecaster))})
        version = register_forecaster(
            client,
            name,
            forecaster,
            trained_until=trained_until,
            drift_profile=profile,
            tags={"source_run_id": run.info.run_id, "network": kind, **(tags or {})},
        )
    if promote:
        set_champion(client, name, version, promoted_by=(tags or {}).get("promoted_by", "gate"))
    return version


def _scalar_params(forecaster: Forecaster) -> dict[str, Any]:
    """The forecaster's parameters that fit MLflow's flat params: nested numbers under
    their dotted path ("garch.AAPL.omega", "selection.egarch")."""
    params: dict[str, Any] = {}

    def numbers(path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                numbers(f"{path}.{key}", inner)
        # Fitted numbers only: the quantile tables (lists) are in the model's own
        # artifact, too many to be readable as params.
        elif isinstance(value, int | float):
            # MLflow keys allow letters, digits and _-./ only ("*", "alpha[1]").
            params[re.sub(r"[^\w./-]", "_", path)] = f"{value:.6g}"

    for key, value in forecaster.to_params().items():  # type: ignore[attr-defined]
        if isinstance(value, dict):
            numbers(key, value)
        else:
            params[key] = value
    return params


def last_retrain(settings: Settings, model_name: str | None = None) -> dt.date | None:
    """The latest `trained_until` over the registered versions (None if none). It is the
    as-of date of the data, not the wall clock, so replays of history see it right."""
    from market_predictor.tracking import open_existing

    name = model_name or settings.model_name
    client = open_existing(settings)
    if client is None:
        return None
    dates = [
        dt.date.fromisoformat(v.tags["trained_until"])
        for v in client.search_model_versions(f"name = '{_quoted(name)}'")
        if "trained_until" in v.tags
    ]
    return max(dates, default=None)


def list_versions(settings: Settings, model_name: str | None = None) -> list[dict[str, Any]]:
    """Every version, newest first, with its aliases and gate tags."""
    name = model_name or settings.model_name
    client = _reader(settings, _nothing_registered(name))
    versions = client.search_model_versions(f"name = '{_quoted(name)}'")
    if not versions:
        raise NotFoundError(_nothing_registered(name))
    aliases = _aliases(client, name)
    ordered = sorted(versions, key=lambda v: -int(v.version))
    return [_describe(v, aliases.get(str(v.version), [])) for v in ordered]


def show_version(
    settings: Settings, version: str | None = None, model_name: str | None = None
) -> dict[str, Any]:
    """One version (default: the champion) with its run's metrics and params, and those
    of the training run that scored it (a promoted rival's `source_run_id`)."""
    name = model_name or settings.model_name
    client = _reader(settings, _nothing_registered(name))
    model_version = _get_version(client, name, version)
    described = _describe(model_version, _aliases(client, name).get(str(model_version.version), []))
    if model_version.run_id:
        run = client.get_run(model_version.run_id)
        metrics, params = dict(run.data.metrics), dict(run.data.params)
        scored_in = described["tags"].get("source_run_id")
        if scored_in and scored_in != model_version.run_id:
            # A rival or baseline the gate promoted is logged in a run of its own (its
            # parameters); the training run that scored it holds the validation window
            # and every contestant's validation metrics.
            training = client.get_run(scored_in)
            metrics = {**training.data.metrics, **metrics}
            params = {**training.data.params, **params}
        described["metrics"], described["params"] = metrics, params
    return described


def promote(settings: Settings, version: str, model_name: str | None = None) -> dict[str, Any]:
    """Manual override: make `version` champion regardless of the gate (recorded)."""
    name = model_name or settings.model_name
    client = _reader(settings, _nothing_registered(name))
    target = _get_version(client, name, version)
    previous = champion_version(client, name)
    set_champion(client, name, str(target.version), promoted_by="manual")
    return {
        "model_name": name,
        "champion_version": str(target.version),
        "previous_champion": None if previous is None else str(previous.version),
        "promoted_by": "manual",
    }


def _get_version(client: MlflowClient, name: str, version: str | None) -> ModelVersion:
    from mlflow.exceptions import MlflowException

    if version is None:
        current = champion_version(client, name)
        if current is None:
            raise NotFoundError(f"no champion registered for {name!r}: run `mpp train` first")
        return current
    if not str(version).isdigit():
        raise InputError(f"model version must be a positive integer, not {version!r}")
    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        raise NotFoundError(f"{name!r} has no version {version}") from None


def _aliases(client: MlflowClient, name: str) -> dict[str, list[str]]:
    """Version -> its aliases (version searches do not return aliases)."""
    by_version: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    return {version: sorted(names) for version, names in by_version.items()}


def _describe(model_version: ModelVersion, aliases: list[str]) -> dict[str, Any]:
    tags = dict(model_version.tags)
    return {
        "model_name": model_version.name,
        "version": str(model_version.version),
        "aliases": aliases,
        "run_id": model_version.run_id,
        "created_at": pd.Timestamp(model_version.creation_timestamp, unit="ms", tz="UTC"),
        "is_baseline": tags.get("is_baseline") == "true",
        "model_type": tags.get("model_type"),
        "trained_until": tags.get("trained_until"),
        "gate_decision": tags.get("gate_decision"),
        "promoted_by": tags.get("promoted_by"),
        "tags": tags,
    }


def _nothing_registered(name: str) -> str:
    return f"no model registered as {name!r}: run `mpp train` first"


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")

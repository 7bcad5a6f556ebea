"""MLflow setup: tracking and registry URIs from settings, the experiment with an
explicit artifact location, and per-epoch metrics from Lightning.

The default is embedded (SQLite under MPP_HOME, artifacts beside it); any tracking
URI works, and an unreachable one is a clear input error before anything is written.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from market_predictor.config import Settings
from market_predictor.errors import InputError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

_REACHABILITY_TIMEOUT_S = 3.0


def check_tracking_uri(uri: str) -> None:
    """InputError naming `uri` when it cannot be reached (quickly: a short timeout)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        import requests

        try:
            requests.get(f"{uri.rstrip('/')}/health", timeout=_REACHABILITY_TIMEOUT_S)
        except requests.RequestException as exc:
            raise InputError(
                f"MLflow tracking URI {uri} is unreachable ({type(exc).__name__}); "
                "start the server or set MPP_MLFLOW_TRACKING_URI"
            ) from None
    elif parsed.scheme == "sqlite":
        path = uri.removeprefix("sqlite:///")
        if path and path != ":memory:":
            _require_directory(Path(path).parent, uri)
    elif parsed.scheme in ("", "file"):
        _require_directory(Path(parsed.path if parsed.scheme else uri), uri)


def _require_directory(directory: Path, uri: str) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"MLflow tracking URI {uri} is unreachable: cannot create {directory} ({exc.strerror})"
        ) from None


def configure_tracking(settings: Settings) -> MlflowClient:
    """Point MLflow (tracking and registry) at the settings' URI; return a client."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = settings.resolved_tracking_uri
    check_tracking_uri(uri)
    # Alembic's migration chatter on a fresh SQLite database is noise to a CLI user.
    for name in ("alembic", "mlflow.store.db.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Artifact download bars would interleave with our own output on every model load.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(client: MlflowClient, settings: Settings) -> str:
    """The experiment's id, creating it with an explicit artifact location if needed."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(
            settings.experiment_name, artifact_location=settings.resolved_artifact_uri
        )
    except MlflowException:
        # Another process created it between our lookup and create.
        experiment = client.get_experiment_by_name(settings.experiment_name)
        if experiment is None:
            raise
        return experiment.experiment_id

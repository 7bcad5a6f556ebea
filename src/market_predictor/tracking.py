"""MLflow setup: tracking and registry URIs from settings, the experiment with an
explicit artifact location, and per-epoch metrics from Lightning.

The default is embedded (SQLite under MPP_HOME, artifacts beside it); any tracking
URI works, and an unreachable one is a clear input error before anything is written.

An embedded database is opened safely by any number of processes at once (CLI
commands, API workers, Airflow tasks): it is created and migrated under a file lock
beside it before any MLflow client touches it, because MLflow's own first-use
migration is not safe to run twice concurrently (it corrupts the schema for good).
Under the same lock a home that was moved or copied is re-pointed at its own
artifacts, since MLflow stores absolute artifact locations.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from market_predictor.config import Settings
from market_predictor.errors import InputError, MPPError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

_REACHABILITY_TIMEOUT_S = 3.0
# Creating MLflow's schema takes a few seconds; a waiter gives up only when the holder
# is clearly stuck (a killed holder releases its lock with its file descriptor).
DATABASE_LOCK_TIMEOUT_S = 120.0
# Columns where MLflow stores absolute artifact locations.
_ARTIFACT_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
    ("model_versions", "source"),
)
# Tracking URIs this process has already created/migrated and re-homed.
_prepared: set[str] = set()


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI (None for other schemes and :memory:)."""
    if urlparse(uri).scheme != "sqlite":
        return None
    path = uri.removeprefix("sqlite:///")
    if not path or path == ":memory:":
        return None
    return Path(path)


def check_tracking_uri(uri: str, *, create_folder: bool = False) -> None:
    """InputError naming `uri` when it cannot be reached (quickly: a short timeout).
    A SQLite database's folder must exist unless `create_folder` (the home's own)."""
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
        path = sqlite_path(uri)
        if path is None:
            return
        if path.is_dir():
            raise InputError(f"MLflow tracking URI {uri} names a directory, not a database file")
        if create_folder:
            _require_directory(path.parent, uri)
        elif not path.parent.is_dir():
            raise InputError(
                f"MLflow tracking URI {uri}: folder {path.parent} does not exist "
                "(create it or fix MPP_MLFLOW_TRACKING_URI)"
            )
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
    """Point MLflow (tracking and registry) at the settings' URI; return a client.
    An embedded database is created/migrated (and re-homed) first, under its lock."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = settings.resolved_tracking_uri
    check_tracking(settings)
    # Alembic's migration chatter on a fresh SQLite database is noise to a CLI user.
    for name in ("alembic", "mlflow.store.db.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Artifact download bars would interleave with our own output on every model load.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    prepare_database(settings)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def check_tracking(settings: Settings) -> None:
    """check_tracking_uri for the settings: only the home's own folder may be created."""
    check_tracking_uri(
        settings.resolved_tracking_uri, create_folder=settings.mlflow_tracking_uri is None
    )


def open_existing(settings: Settings) -> MlflowClient | None:
    """A client for reading, or None when nothing was ever tracked here (the embedded
    database does not exist): looking must not create a database."""
    uri = settings.resolved_tracking_uri
    path = sqlite_path(uri)
    if path is not None and not path.exists():
        if settings.mlflow_tracking_uri is not None:
            check_tracking_uri(uri)  # a missing folder is a wrong URI, not an empty registry
        return None
    return configure_tracking(settings)


def prepare_database(settings: Settings) -> None:
    """Create and migrate an embedded SQLite tracking database, and re-point a moved or
    copied home at its own artifacts; once per process, under an inter-process lock."""
    uri = settings.resolved_tracking_uri
    path = sqlite_path(uri)
    if path is None or uri in _prepared:
        return
    with database_lock(path):
        _create_tables(uri)
        root = settings.resolved_artifact_uri  # never None with an embedded database
        if settings.mlflow_artifact_uri is None and root is not None:
            rehome_artifacts(path, root)
    _prepared.add(uri)


@contextmanager
def database_lock(path: Path) -> Iterator[None]:
    """Exclusive lock on `<database>.lock` shared by every process using `path`."""
    from filelock import FileLock, Timeout

    lock = FileLock(f"{path}.lock", timeout=DATABASE_LOCK_TIMEOUT_S)
    try:
        with lock:
            yield
    except Timeout:
        raise MPPError(
            f"{path} stayed locked for {DATABASE_LOCK_TIMEOUT_S:.0f} s by another process"
        ) from None


def _create_tables(uri: str) -> None:
    import sqlalchemy
    from mlflow.store.db.utils import _all_tables_exist, _initialize_tables

    engine = sqlalchemy.create_engine(uri)
    try:
        if not _all_tables_exist(engine):
            _initialize_tables(engine)
    finally:
        engine.dispose()


def rehome_artifacts(database: Path, artifact_root: str) -> int:
    """Rewrite artifact locations that point at another home's `mlartifacts` (the home
    was moved or copied) to `artifact_root`, in one transaction. Returns the number of
    rewritten rows. MLflow only stores absolute locations, so this is how a home stays
    self-contained: after `cp -a`, the copy reads and writes its own artifacts."""
    root = artifact_root.rstrip("/")
    folder = root.rsplit("/", 1)[-1]
    changed = 0
    connect = sqlite3.connect(database, timeout=DATABASE_LOCK_TIMEOUT_S)
    # The inner `with connection` is one transaction: all rows move, or none.
    with closing(connect) as connection, connection:
        experiments = connection.execute("SELECT DISTINCT artifact_location FROM experiments")
        locations = {str(location).rstrip("/") for (location,) in experiments if location}
        for old in sorted(o for o in locations if o.endswith(f"/{folder}") and o != root):
            for table, column in _ARTIFACT_COLUMNS:
                cursor = connection.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                    f"WHERE {column} = ? OR substr({column}, 1, ?) = ?",
                    (root, len(old) + 1, old, len(old) + 1, old + "/"),
                )
                changed += cursor.rowcount
    return changed


def ensure_experiment(client: MlflowClient, settings: Settings) -> str:
    """The experiment's id, creating it with an explicit artifact location if needed.
    Runs left RUNNING by a killed process are marked KILLED first."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        mark_interrupted_runs(client, experiment.experiment_id, settings.stale_run_hours)
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


def mark_interrupted_runs(client: MlflowClient, experiment_id: str, older_than_hours: float) -> int:
    """Mark KILLED every RUNNING run started more than `older_than_hours` ago: no run
    lasts that long, so its process died (SIGKILL, power loss) before it could end it.
    Younger RUNNING runs may belong to a live process and are left alone."""
    cutoff_ms = int((time.time() - older_than_hours * 3600) * 1000)
    stale = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' AND attributes.start_time < {cutoff_ms}",
    )
    for run in stale:
        client.set_terminated(run.info.run_id, status="KILLED")
    return len(stale)


def flat_params(values: Mapping[str, Any]) -> dict[str, str]:
    """Values as MLflow params (flat strings): a list or tuple as its comma-separated
    items, floats in it to 6 significant digits (a param holds at most 6000 characters)."""
    return {
        key: ",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in value)
        if isinstance(value, list | tuple)
        else str(value)
        for key, value in values.items()
    }

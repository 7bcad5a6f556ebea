"""One typed settings object, read from `MPP_*` environment variables and `.env`.

Nothing here touches the disk or the network at import: paths are resolved lazily
so that tests and services can point `MPP_HOME` anywhere before the first call.

Every value is range-checked when the settings are built; an invalid one is an
InputError naming the variable, its value and what is allowed (exit 2), whoever
builds the settings (CLI, API, Airflow). An empty variable counts as unset. Relative
paths of the store, the artifacts and a SQLite tracking database are resolved against
MPP_HOME; a relative MPP_HOME against the working directory (where `.env` is read).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from market_predictor.checks import first_problem
from market_predictor.errors import InputError
from market_predictor.symbols import parse_symbols
from market_predictor.training.gate import RIVAL_NAMES
from market_predictor.training.hardware import (
    HARDWARE,
    Accelerator,
    Devices,
    NumNodes,
    Precision,
    Strategy,
)

DEFAULT_SYMBOLS = ("AAPL", "MSFT", "IBM", "GOOG")
# The next day, a week and a month of trading days: how investors plan.
DEFAULT_HORIZONS = (1, 5, 21)
# Feature group versions are schema generations, not counters: a handful in a
# system's life. The cap keeps a typo from creating table `v99999999999999999999`.
MAX_FEATURE_GROUP_VERSION = 999
# The online interval scale's next-day step (market_predictor.online_calibration; it is
# eta / sqrt(h) at horizon h). Near its fixed point a tail's miss rate moves by about
# f = 0.22 per unit of log scale (a normal 10% tail: density x quantile), so the log
# scale is an AR(1) with coefficient 1 - f*eta: at 0.05 a time constant of ~90 trading
# days and a stationary wobble of sd ~sqrt(0.2*eta) = 0.1 (10% of the width). The
# forecasters' own volatility inputs follow regime changes within weeks; the scale
# corrects the slower, persistent miscalibration. Checked on synthetic series of varied
# dynamics (bench/interval_rules.py): 0.01-0.05 cost or gain under 0.1% of pinball loss
# and 0.05 keeps the rolling coverage nearest nominal; 0.1 costs 0.2-1.8%.
ONLINE_CALIBRATION_ETA = 0.05


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MPP_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    home: Path = Field(Path(".mpp"), description="Root for the embedded store and MLflow.")
    store_uri: str | None = Field(
        None, description="Feature store root: a local path or s3://bucket/prefix."
    )
    mlflow_tracking_uri: str | None = Field(
        None, description="MLflow tracking URI (default: SQLite under MPP_HOME)."
    )
    mlflow_artifact_uri: str | None = Field(
        None,
        description="Artifact root for new experiments (default: MPP_HOME/mlartifacts, "
        "or the tracking server's own artifact store when the tracking URI is http(s)).",
    )
    experiment_name: str = "market-price-predictor"
    model_name: str = Field("market-price-predictor", description="Registered model name.")
    # NoDecode: `MPP_SYMBOLS=AAPL,MSFT` is a comma list, not JSON.
    symbols: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_SYMBOLS))
    horizons: Annotated[tuple[int, ...], NoDecode] = Field(
        DEFAULT_HORIZONS,
        description="Trading days ahead the models forecast, comma-separated; 1 must be "
        "among them (the next-day forecast the original routes serve).",
    )
    rivals: Annotated[tuple[str, ...], NoDecode] = Field(
        RIVAL_NAMES,
        description="Forecasters training compares the network with, comma-separated "
        f"(of {', '.join(RIVAL_NAMES)}); persistence is always one.",
    )
    fit_workers: int = Field(
        1,
        ge=1,
        description="Processes that fit the per-symbol volatility rivals (GARCH, GJR-GARCH, "
        "EGARCH, HAR) in parallel.",
    )
    mapped_fits_min_symbols: int = Field(
        500,
        ge=1,
        description="From this many symbols the DAG's retrain fits the per-symbol rivals as "
        "mapped tasks (fit_rivals), one per MPP_FIT_BATCH_SYMBOLS symbols; training uses "
        "their fits.",
    )
    fit_batch_symbols: int = Field(
        250, ge=1, description="Symbols per mapped fit_rivals task of the DAG's retrain."
    )
    # The training config's hardware (training/hardware.py), when set here: a machine's
    # hardware belongs to its environment, not to the versioned hyperparameters.
    training_accelerator: Accelerator | None = Field(
        None,
        description="Lightning accelerator of training: auto (a GPU when one exists), "
        "cpu, gpu, cuda or mps.",
    )
    training_devices: Devices | None = Field(
        None,
        description="Devices (one process each) per machine, or auto; more than 1 "
        "trains with DDP, from `mpp train` only.",
    )
    training_strategy: Strategy | None = Field(
        None, description="Lightning strategy of `mpp train`: auto or ddp."
    )
    training_precision: Precision | None = Field(
        None, description="Lightning precision: 32-true, bf16-mixed or 16-mixed."
    )
    training_num_nodes: NumNodes | None = Field(
        None, description="Machines of a multi-node `mpp train` (torchrun or SLURM)."
    )
    source: str = Field("yfinance", description="Price source for the daily job.")
    source_path: Path | None = Field(None, description="File for the csv/parquet sources.")
    feature_group_version: int = Field(1, ge=1, le=MAX_FEATURE_GROUP_VERSION)
    calendar: str = Field("XNYS", description="Exchange calendar (exchange_calendars code).")
    schedule: str = Field(
        "30 22 * * 1-5", description="Cron schedule (UTC) of the Airflow ml_pipeline DAG."
    )
    yahoo_retries: int = Field(
        4,
        ge=0,
        description="Retries of a Yahoo request that failed transiently (timeout, "
        "dropped connection, 5xx, 429) before the ingest fails.",
    )
    yahoo_backoff_seconds: float = Field(
        1.0, ge=0, description="Delay before the first Yahoo retry; it doubles on each retry."
    )
    ingest_overlap_days: int = Field(
        5,
        ge=0,
        description="Trading days re-fetched before the last stored date to catch restatements.",
    )
    stale_after_days: int = Field(
        5, ge=0, description="Skip a symbol whose last row is more than this many trading days old."
    )
    training_config: Path | None = Field(
        None, description="Training hyperparameter file (default: the packaged train.yaml)."
    )
    trigger_alpha: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="Family-wise false-alarm probability of a day's retrain-trigger tests "
        "(Bonferroni-shared by symbols x tests).",
    )
    max_model_age_days: int = Field(
        63, ge=1, description="Trading days after which the champion is retrained on schedule."
    )
    retrain_cooldown_days: int = Field(
        20, ge=0, description="Trading days after a retrain before the monitor may trigger another."
    )
    online_calibration: bool = Field(
        True,
        description="Rescale the served interval online from its realised misses (adaptive "
        "conformal inference); false serves the model's interval as it is.",
    )
    online_calibration_eta: float = Field(
        ONLINE_CALIBRATION_ETA,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Step of the online interval scale per realised error (0: off).",
    )
    api_key: SecretStr | None = Field(
        None,
        description="Bearer token(s) the API requires, comma-separated for rotation "
        "(unset or empty: the API is open).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    api_poll_seconds: float = Field(
        2.0, gt=0, description="How often the API checks the store's table versions."
    )
    stale_run_hours: float = Field(
        24.0,
        gt=0,
        allow_inf_nan=False,
        description="An MLflow run still RUNNING this long after it started was interrupted "
        "(no training or tuning run lasts a day); the next run marks it KILLED.",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise InputError(describe_invalid_settings(exc)) from None

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        items = _comma_list(value)
        if not isinstance(items, list):
            return items
        try:
            return parse_symbols([str(s) for s in items])
        except InputError as exc:  # reported with the variable's name and value
            raise ValueError(str(exc)) from None

    @field_validator("horizons", mode="before")
    @classmethod
    def _split_horizons(cls, value: object) -> object:
        items = _comma_list(value)
        if not isinstance(items, list | tuple):
            return items
        try:
            horizons = sorted({int(item) for item in items})
        except (TypeError, ValueError):
            raise ValueError(f"horizons must be whole trading days, got {value!r}") from None
        if not horizons or horizons[0] < 1:
            raise ValueError(f"horizons must be positive trading days, got {value!r}")
        if horizons[0] != 1:
            raise ValueError(f"horizons must include 1 (the next day), got {value!r}")
        return tuple(horizons)

    @field_validator("rivals", mode="before")
    @classmethod
    def _split_rivals(cls, value: object) -> object:
        items = _comma_list(value)
        if not isinstance(items, list | tuple):
            return items
        names = [str(item).lower() for item in items]
        unknown = sorted(set(names) - set(RIVAL_NAMES))
        if unknown:
            raise ValueError(f"unknown rival {unknown[0]!r}: choose from {', '.join(RIVAL_NAMES)}")
        if "persistence" not in names:
            raise ValueError("rivals must include persistence (the forecast to beat)")
        return tuple(name for name in RIVAL_NAMES if name in names)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return _comma_list(value)

    @property
    def training_hardware(self) -> dict[str, Any]:
        """The MPP_TRAINING_* hardware settings that are set, by their config name."""
        values = {name: getattr(self, f"training_{name}") for name in HARDWARE}
        return {name: value for name, value in values.items() if value is not None}

    @property
    def online_eta(self) -> float:
        """The online interval scale's step in force (0 when it is turned off)."""
        return self.online_calibration_eta if self.online_calibration else 0.0

    @property
    def api_keys(self) -> list[str]:
        """The accepted bearer tokens (empty: no auth)."""
        if self.api_key is None:
            return []
        return [key.strip() for key in self.api_key.get_secret_value().split(",") if key.strip()]

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_store_uri(self) -> str:
        if self.store_uri:
            return self._under_home(self.store_uri).rstrip("/")
        return str(self.resolved_home / "store")

    @property
    def resolved_tracking_uri(self) -> str:
        uri = self.mlflow_tracking_uri
        if not uri:
            return f"sqlite:///{self.resolved_home / 'mlflow.db'}"
        path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else None
        if path and path != ":memory:" and not Path(path).expanduser().is_absolute():
            return f"sqlite:///{self._under_home(path)}"
        return uri

    @property
    def resolved_artifact_uri(self) -> str | None:
        """None leaves the location to a tracking server: a folder on this machine would
        be unreadable to the API workers and Airflow tasks on the others."""
        uri = self.mlflow_artifact_uri
        if not uri:
            if self.resolved_tracking_uri.startswith(("http://", "https://")):
                return None
            return (self.resolved_home / "mlartifacts").as_uri()
        if _is_local_path(uri) and not Path(uri).expanduser().is_absolute():
            return Path(self._under_home(uri)).as_uri()
        return uri

    def _under_home(self, location: str) -> str:
        """A relative local path resolved against MPP_HOME (URLs are kept verbatim)."""
        if not _is_local_path(location):
            return location
        path = Path(location).expanduser()
        return str(path if path.is_absolute() else (self.resolved_home / path).resolve())


def describe_invalid_settings(exc: ValidationError) -> str:
    """One line naming the first invalid variable, its value and what is allowed."""
    problem = first_problem(exc)
    if problem.field is None:
        return f"invalid settings: {problem.rule}"
    allowed = problem.rule.removeprefix("Input ")
    return f"invalid MPP_{problem.field.upper()}={problem.shown}: {allowed}"


def _is_local_path(location: str) -> bool:
    scheme = urlparse(location).scheme
    return scheme == "" or len(scheme) == 1  # a Windows drive letter is a path too


def _comma_list(value: object) -> object:
    """`A,B` or a JSON list from the environment -> a list of stripped strings."""
    if isinstance(value, str):
        text = value.strip()
        items = json.loads(text) if text.startswith("[") else text.split(",")
        return [str(s).strip() for s in items if str(s).strip()]
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()

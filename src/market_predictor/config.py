"""One typed settings object, read from `MPP_*` environment variables and `.env`.

Nothing here touches the disk or the network at import: paths are resolved lazily
so that tests and services can point `MPP_HOME` anywhere before the first call.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SYMBOLS = ("AAPL", "MSFT", "IBM", "GOOG")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MPP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(Path(".mpp"), description="Root for the embedded store and MLflow.")
    store_uri: str | None = Field(
        None, description="Feature store root: a local path or s3://bucket/prefix."
    )
    mlflow_tracking_uri: str | None = Field(
        None, description="MLflow tracking URI (default: SQLite under MPP_HOME)."
    )
    mlflow_artifact_uri: str | None = Field(
        None, description="Artifact root for new experiments (default: MPP_HOME/mlartifacts)."
    )
    experiment_name: str = "market-price-predictor"
    model_name: str = Field("market-price-predictor", description="Registered model name.")
    # NoDecode: `MPP_SYMBOLS=AAPL,MSFT` is a comma list, not JSON.
    symbols: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_SYMBOLS))
    source: str = Field("yfinance", description="Price source for the daily job.")
    source_path: Path | None = Field(None, description="File for the csv/parquet sources.")
    feature_group_version: int = 1
    calendar: str = Field("XNYS", description="Exchange calendar (exchange_calendars code).")
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
        5, description="Trading days re-fetched before the last stored date to catch restatements."
    )
    stale_after_days: int = Field(
        5, description="Skip a symbol whose last row is more than this many trading days old."
    )
    training_config: Path | None = Field(
        None, description="Training hyperparameter file (default: the packaged train.yaml)."
    )
    retrain_mase_threshold: float = 1.05
    retrain_coverage_low: float = 0.65
    retrain_coverage_high: float = 0.95
    retrain_psi_threshold: float = 0.25
    drift_ignored_features: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["volatility_5", "volatility_21", "high_low_range"],
        description="Features whose drift is reported but never triggers a retrain "
        "(volatility regimes always differ from years of training data; coverage catches them).",
    )
    retrain_cooldown_days: int = Field(
        20, description="Trading days after a retrain before the monitor may trigger another."
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

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        from market_predictor.symbols import parse_symbols

        items = _comma_list(value)
        return parse_symbols(items) if isinstance(items, list) else items

    @field_validator("drift_ignored_features", "cors_origins", mode="before")
    @classmethod
    def _split_features(cls, value: object) -> object:
        return _comma_list(value)

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
            return self.store_uri.rstrip("/")
        return str(self.resolved_home / "store")

    @property
    def resolved_tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{self.resolved_home / 'mlflow.db'}"

    @property
    def resolved_artifact_uri(self) -> str:
        if self.mlflow_artifact_uri:
            return self.mlflow_artifact_uri
        return (self.resolved_home / "mlartifacts").as_uri()


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

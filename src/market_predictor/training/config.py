"""Training hyperparameters: one versioned YAML file, validated into a `TrainConfig`.

The file is MPP_TRAINING_CONFIG if set, else `{MPP_HOME}/train.yaml` (what `mpp tune`
writes), else the packaged `configs/train.yaml`; CLI flags override single values.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from market_predictor.config import Settings
from market_predictor.errors import InputError

NETWORK_NAMES = ("lstm", "transformer", "mlp")
NETWORK_DISPLAY_NAMES = {"lstm": "LSTM", "transformer": "Transformer", "mlp": "MLP"}
# Walk-forward refit period of `mpp backtest` and `mpp tune` (a count and M or W).
DEFAULT_RETRAIN_EVERY = "3M"


class TrainConfig(BaseModel):
    """Hyperparameters of one training run; every value is range-checked on creation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["lstm", "transformer", "mlp"] = "lstm"
    window: int = Field(30, ge=1)
    hidden_size: int = Field(32, ge=1)
    num_layers: int = Field(1, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    learning_rate: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0)
    batch_size: int = Field(256, ge=1)
    max_epochs: int = Field(15, ge=1)
    patience: int = Field(3, ge=0)
    seed: int = 42
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    validation_months: int = Field(6, ge=1)
    # One thread: on a shared 2-core machine two torch threads contend with everything
    # else and fitted 5-8x slower in our measurements (docs/benchmarks.md).
    num_threads: int = Field(1, ge=1)

    @field_validator("model", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("quantiles")
    @classmethod
    def _ordered_levels(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        ordered = list(value) == sorted(set(value))
        if not ordered or 0.5 not in value or len(value) < 3 or value[0] <= 0 or value[-1] >= 1:
            raise ValueError("must increase inside (0, 1), include 0.5 and a level each side")
        return value

    @property
    def min_history(self) -> int:
        from market_predictor.features import WARMUP_ROWS

        return WARMUP_ROWS + self.window - 1


def load_train_config(
    settings: Settings, overrides: Mapping[str, Any] | None = None
) -> TrainConfig:
    """The training config file with `overrides` applied (None values ignored);
    InputError on any bad value. The file is settings.training_config if set, else
    `{MPP_HOME}/train.yaml` if present (where `mpp tune` saves the best config), else
    the packaged train.yaml."""
    tuned = settings.resolved_home / "train.yaml"
    if settings.training_config is not None:
        path = Path(settings.training_config)
        if not path.is_file():
            raise InputError(f"training config {path} does not exist")
        text = path.read_text()
    elif tuned.is_file():
        text = tuned.read_text()
    else:
        text = resources.files("market_predictor").joinpath("configs/train.yaml").read_text()
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"training config is not valid YAML: {exc}") from None
    if not isinstance(values, dict):
        raise InputError("training config must be a mapping of names to values")
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return _validated(values)


def _validated(values: Mapping[str, Any]) -> TrainConfig:
    try:
        return TrainConfig.model_validate(dict(values))
    except ValidationError as exc:
        raise InputError(_first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    """One line naming the setting, its value and what is allowed."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "training config"
    value, kind, bound = error.get("input"), error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return f"unknown training setting(s) {name}"
    if kind == "literal_error":
        return f"unknown network {value!r}: choose one of {', '.join(NETWORK_NAMES)}"
    if kind == "greater_than_equal":
        return f"{name} must be at least {bound['ge']}, not {value!r}"
    if kind in ("greater_than", "less_than"):
        side = "more" if kind == "greater_than" else "less"
        return f"{name} must be {side} than {bound.get('gt', bound.get('lt'))}, not {value!r}"
    if kind in ("int_parsing", "float_parsing", "int_type", "float_type"):
        return f"{name} must be a number, not {value!r}"
    if kind == "int_from_float":
        return f"{name} must be a whole number, not {value!r}"
    return f"{name} {value!r}: {error['msg'].lower()}"


def save_train_config(config: TrainConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))

"""Training hyperparameters: one versioned YAML file, validated into a `TrainConfig`.

The file is MPP_TRAINING_CONFIG if set, else `{MPP_HOME}/train.yaml` (what `mpp tune`
writes), else the packaged `configs/train.yaml`; CLI flags override single values.

Every default is defined once, in the packaged `configs/train.yaml`: it is the file
users read (with a comment on each value) and the one `mpp train` loads when nothing
else is configured, so `TrainConfig`'s field defaults are read from it rather than
written a second time here. A field the file lacks fails at import, and
`validate_default` range-checks the file's values as any others.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from market_predictor.checks import Problem, first_problem
from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.training.hardware import (
    SINGLE_PROCESS,
    Accelerator,
    Devices,
    NumNodes,
    Precision,
    Strategy,
)

NetworkName = Literal["lstm", "transformer", "mlp"]
NETWORK_NAMES: tuple[str, ...] = get_args(NetworkName)
NETWORK_DISPLAY_NAMES = {"lstm": "LSTM", "transformer": "Transformer", "mlp": "MLP"}
# Walk-forward refit period of `mpp backtest` and `mpp tune` (a count and M or W).
DEFAULT_RETRAIN_EVERY = "3M"
# Walk-forward folds each `mpp tune` trial is scored on.
DEFAULT_TUNING_FOLDS = 2

PACKAGED_CONFIG = "configs/train.yaml"


def _packaged_text() -> str:
    return resources.files("market_predictor").joinpath(PACKAGED_CONFIG).read_text()


DEFAULTS: Mapping[str, Any] = MappingProxyType(yaml.safe_load(_packaged_text()))


class TrainConfig(BaseModel):
    """Hyperparameters of one training run; every value is range-checked on creation."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    model: NetworkName = DEFAULTS["model"]
    window: int = Field(DEFAULTS["window"], ge=1)
    hidden_size: int = Field(DEFAULTS["hidden_size"], ge=1)
    num_layers: int = Field(DEFAULTS["num_layers"], ge=1)
    dropout: float = Field(DEFAULTS["dropout"], ge=0.0, lt=1.0)
    learning_rate: float = Field(DEFAULTS["learning_rate"], gt=0.0)
    weight_decay: float = Field(DEFAULTS["weight_decay"], ge=0.0)
    batch_size: int = Field(DEFAULTS["batch_size"], ge=1)
    max_epochs: int = Field(DEFAULTS["max_epochs"], ge=1)
    patience: int = Field(DEFAULTS["patience"], ge=0)
    seed: int = DEFAULTS["seed"]
    quantiles: tuple[float, ...] = DEFAULTS["quantiles"]
    validation_months: int = Field(DEFAULTS["validation_months"], ge=1)
    # The packaged default is one thread: on a shared 2-core machine two torch threads
    # contend with everything else and fitted 5-8x slower (docs/benchmarks.md).
    num_threads: int = Field(DEFAULTS["num_threads"], ge=1)
    # Where it trains (training/hardware.py); MPP_TRAINING_<NAME> overrides each.
    accelerator: Accelerator = DEFAULTS["accelerator"]
    devices: Devices = DEFAULTS["devices"]
    strategy: Strategy = DEFAULTS["strategy"]
    precision: Precision = DEFAULTS["precision"]
    num_nodes: NumNodes = DEFAULTS["num_nodes"]

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

    def single_process(self) -> TrainConfig:
        """This config on one device of its accelerator, in this process alone."""
        return self.model_copy(update=SINGLE_PROCESS)

    @property
    def min_history(self) -> int:
        from market_predictor.features import WARMUP_ROWS

        return WARMUP_ROWS + self.window - 1


def training_config_path(settings: Settings) -> Path:
    """The configured training config file: MPP_TRAINING_CONFIG if set, else
    {MPP_HOME}/train.yaml (where `mpp tune` saves its best config, which `mpp train`
    then loads before the packaged default)."""
    if settings.training_config is not None:
        return settings.training_config.expanduser().resolve()
    return settings.resolved_home / "train.yaml"


def load_train_config(
    settings: Settings,
    overrides: Mapping[str, Any] | None = None,
    *,
    options: Collection[str] = (),
) -> TrainConfig:
    """The training config file (`training_config_path`, else the packaged one) with the
    MPP_TRAINING_* hardware settings, then `overrides` applied (None values ignored);
    InputError on any bad value. A bad value
    of a setting named in `options` came from the caller's own parameter of that name,
    and the error says so (`param`), so the CLI can point at its flag."""
    path = training_config_path(settings)
    if settings.training_config is not None and not path.is_file():
        raise InputError(f"training config {settings.training_config} does not exist")
    text = path.read_text() if path.is_file() else _packaged_text()
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"training config is not valid YAML: {exc}") from None
    if not isinstance(values, dict):
        raise InputError("training config must be a mapping of names to values")
    values.update(settings.training_hardware)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return TrainConfig.model_validate(values)
    except ValidationError as exc:
        problem = first_problem(exc)
        param = problem.field if problem.field in options else None
        raise InputError(describe_problem(problem), param=param) from None


def describe_problem(problem: Problem) -> str:
    """One line naming the training setting, its value and what is allowed."""
    name = problem.field or "training config"
    value, kind, bound = problem.value, problem.kind, problem.bounds
    if kind == "extra_forbidden":
        return f"unknown training setting(s) {name}"
    if kind == "literal_error" and name == "model":
        return f"unknown network {value!r}: choose one of {', '.join(NETWORK_NAMES)}"
    if kind == "literal_error":
        return f"{name} must be {problem.rule.removeprefix('Input should be ')}, not {value!r}"
    if kind == "greater_than_equal":
        return f"{name} must be at least {bound['ge']}, not {value!r}"
    if kind in ("greater_than", "less_than"):
        side = "more" if kind == "greater_than" else "less"
        return f"{name} must be {side} than {bound.get('gt', bound.get('lt'))}, not {value!r}"
    if kind in ("int_parsing", "float_parsing", "int_type", "float_type"):
        return f"{name} must be a number, not {value!r}"
    if kind == "int_from_float":
        return f"{name} must be a whole number, not {value!r}"
    return f"{name} {value!r}: {problem.rule.lower()}"


def save_train_config(config: TrainConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))

"""Training hyperparameters: one versioned YAML file, validated into a `TrainConfig`.

The file is MPP_TRAINING_CONFIG if set, else `{MPP_HOME}/train.yaml` (what `mpp tune`
writes), else the packaged `configs/train.yaml`; CLI flags override single values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from market_predictor.config import Settings
from market_predictor.errors import InputError

NETWORK_NAMES = ("lstm", "transformer", "mlp")
NETWORK_DISPLAY_NAMES = {"lstm": "LSTM", "transformer": "Transformer", "mlp": "MLP"}
# Walk-forward refit period of `mpp backtest` and `mpp tune` (a count and M or W).
DEFAULT_RETRAIN_EVERY = "3M"


@dataclass
class TrainConfig:
    model: str = "lstm"
    window: int = 30
    hidden_size: int = 32
    num_layers: int = 1
    dropout: float = 0.1
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    max_epochs: int = 15
    patience: int = 3
    seed: int = 42
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    validation_months: int = 6
    # One thread: on a shared 2-core machine two torch threads contend with everything
    # else and fitted 5-8x slower in our measurements (docs/benchmarks.md).
    num_threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["quantiles"] = list(self.quantiles)
        return data

    @property
    def min_history(self) -> int:
        from market_predictor.features import WARMUP_ROWS

        return WARMUP_ROWS + self.window - 1


_INTEGER_FIELDS = (
    "window",
    "hidden_size",
    "num_layers",
    "batch_size",
    "max_epochs",
    "patience",
    "seed",
    "validation_months",
    "num_threads",
)
_FLOAT_FIELDS = ("dropout", "learning_rate", "weight_decay")


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
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown training setting(s) {', '.join(unknown)}")
    data = dict(values)
    model = str(data.get("model", "lstm")).lower()
    if model not in NETWORK_NAMES:
        raise InputError(f"unknown network {model!r}: choose one of {', '.join(NETWORK_NAMES)}")
    data["model"] = model
    for name in _INTEGER_FIELDS:
        if name in data:
            data[name] = _number(name, data[name], int)
    for name in _FLOAT_FIELDS:
        if name in data:
            data[name] = _number(name, data[name], float)
    if "quantiles" in data:
        try:
            data["quantiles"] = tuple(float(q) for q in data["quantiles"])
        except (TypeError, ValueError):
            raise InputError("quantiles must be a list of numbers") from None
    config = TrainConfig(**data)
    positive = ("window", "hidden_size", "num_layers", "batch_size", "max_epochs")
    for name in (*positive, "patience", "validation_months"):
        if getattr(config, name) < (0 if name == "patience" else 1):
            raise InputError(f"{name} must be at least {0 if name == 'patience' else 1}")
    if not 0.0 <= config.dropout < 1.0:
        raise InputError("dropout must be in [0, 1)")
    if config.learning_rate <= 0 or config.weight_decay < 0:
        raise InputError("learning_rate must be > 0 and weight_decay >= 0")
    q = config.quantiles
    if list(q) != sorted(set(q)) or 0.5 not in q or q[0] <= 0 or q[-1] >= 1 or len(q) < 3:
        raise InputError(
            f"quantiles {list(q)} must be increasing, inside (0, 1), include 0.5 and one level "
            "on each side"
        )
    return config


def _number(name: str, value: Any, kind: type) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, not {value!r}") from None
    if kind is int and number != value and not isinstance(value, str):
        raise InputError(f"{name} must be a whole number, not {value!r}")
    return number


def save_train_config(config: TrainConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))

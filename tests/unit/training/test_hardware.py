"""Where the network trains: the hardware settings of the training config and their
MPP_TRAINING_* overrides, checked with one-line errors, and what reaches Lightning's
Trainer (a real one, constructed but not launched)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from lightning.fabric.utilities import rank_zero as fabric_rank_zero
from lightning.pytorch.accelerators import CPUAccelerator
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.strategies import DDPStrategy, SingleDeviceStrategy
from lightning_utilities.core import rank_zero as utils_rank_zero

from market_predictor.config import Settings, get_settings
from market_predictor.errors import InputError
from market_predictor.training.config import TrainConfig
from market_predictor.training.fit import build_trainer, fit_forecaster, process_rank
from market_predictor.training.history import merged_config
from tests.fixtures.ml import sample_prices

NO_GPU = not (torch.cuda.is_available() or torch.backends.mps.is_available())
DDP_ON_FOUR = {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "num_nodes": 2}


def _settings(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(f"MPP_TRAINING_{name.upper()}", value)
    get_settings.cache_clear()
    return get_settings()


def test_the_environment_overrides_the_files_hardware_and_the_call_overrides_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("accelerator: cpu\nprecision: bf16-mixed\nnum_nodes: 3\n")
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(path))
    settings = _settings(monkeypatch, devices="2", strategy="ddp", num_nodes="2")

    config = merged_config(settings, overrides={"devices": 4}, distributed=True)

    assert (config.accelerator, config.precision) == ("cpu", "bf16-mixed")  # the file's
    assert (config.strategy, config.num_nodes) == ("ddp", 2)  # the environment's
    assert config.devices == 4  # the call's


def test_only_a_distributed_training_keeps_several_devices_and_nodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(
        monkeypatch,
        accelerator="cpu",
        devices="auto",
        strategy="ddp",
        num_nodes="2",
        precision="bf16-mixed",
    )

    distributed = merged_config(settings, distributed=True)
    alone = merged_config(settings)

    assert (distributed.devices, distributed.strategy, distributed.num_nodes) == ("auto", "ddp", 2)
    assert (alone.devices, alone.strategy, alone.num_nodes) == (1, "auto", 1)
    assert (alone.accelerator, alone.precision) == ("cpu", "bf16-mixed")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("devices", "0", "invalid MPP_TRAINING_DEVICES=0: must be a whole number of devices"),
        ("devices", "two", "invalid MPP_TRAINING_DEVICES=two: must be a whole number of devices"),
        ("num_nodes", "0", "invalid MPP_TRAINING_NUM_NODES=0: should be greater than or equal"),
        ("strategy", "ddp_spawn", "invalid MPP_TRAINING_STRATEGY=ddp_spawn: should be 'auto' or"),
        ("precision", "16", "invalid MPP_TRAINING_PRECISION=16: should be '32-true', '16-mixed'"),
        ("accelerator", "tpu", "invalid MPP_TRAINING_ACCELERATOR=tpu: should be 'auto', 'cpu'"),
    ],
)
def test_a_bad_hardware_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        _settings(monkeypatch, **{name: value})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("name", "value"), [("devices", "1"), ("num_nodes", "1")])
def test_one_device_and_one_node_are_the_smallest_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    assert _settings(monkeypatch, **{name: value}).training_hardware == {name: 1}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("strategy: ddp_spawn", "strategy must be 'auto' or 'ddp', not 'ddp_spawn'"),
        ("precision: 64-true", "precision must be '32-true', '16-mixed' or 'bf16-mixed', not"),
        ("devices: 0", "devices 0: must be a whole number of devices (at least 1) or 'auto'"),
        ("num_nodes: 0", "num_nodes must be at least 1, not 0"),
    ],
)
def test_a_bad_hardware_value_in_the_config_file_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(line + "\n")
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(path))
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        merged_config(_settings(monkeypatch), distributed=True)


def test_the_trainer_gets_the_configured_accelerator_devices_strategy_precision_and_nodes() -> None:
    trainer = build_trainer(TrainConfig(**DDP_ON_FOUR, precision="bf16-mixed"))

    assert isinstance(trainer.accelerator, CPUAccelerator)
    assert isinstance(trainer.strategy, DDPStrategy)
    assert (trainer.num_devices, trainer.num_nodes, trainer.world_size) == (2, 2, 4)
    assert trainer.precision == "bf16-mixed"
    assert torch.are_deterministic_algorithms_enabled()  # strict on the CPU


def test_one_process_on_the_cpu_is_a_single_device_trainer() -> None:
    trainer = build_trainer(TrainConfig(**DDP_ON_FOUR).single_process())

    assert isinstance(trainer.strategy, SingleDeviceStrategy)
    assert (trainer.num_devices, trainer.num_nodes, trainer.world_size) == (1, 1, 1)


@pytest.fixture
def restore_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DDP trainer publishes its rank to Lightning's rank-zero guards: put them back."""
    monkeypatch.setattr(fabric_rank_zero.rank_zero_only, "rank", 0, raising=False)
    monkeypatch.setattr(utils_rank_zero.rank_zero_only, "rank", 0, raising=False)


@pytest.mark.parametrize(
    ("environment", "rank"),
    [
        ({}, 0),  # the process the user started: Lightning's launcher starts the others
        ({"LOCAL_RANK": "1", "NODE_RANK": "0"}, 1),  # what the launcher gives the second
        ({"LOCAL_RANK": "1", "NODE_RANK": "1"}, 3),  # the second device of the second node
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, 2),
    ],
)
def test_the_process_rank_comes_from_the_launchers_environment(
    monkeypatch: pytest.MonkeyPatch, restore_rank: None, environment: dict, rank: int
) -> None:
    for name in ("LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert process_rank(TrainConfig(**DDP_ON_FOUR)) == rank
    assert process_rank(TrainConfig(**DDP_ON_FOUR).single_process()) == 0


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU")
@pytest.mark.parametrize("accelerator", ["gpu", "cuda", "mps"])
def test_an_accelerator_the_machine_lacks_is_one_line_before_anything_is_written(
    accelerator: str,
) -> None:
    with pytest.raises(InputError) as caught:
        process_rank(TrainConfig(accelerator=accelerator))
    text = str(caught.value)
    assert text.startswith(f"cannot train on accelerator {accelerator}, devices 1, strategy auto")
    assert "\n" not in text


def test_auto_trains_on_the_cpu_when_there_is_no_gpu() -> None:
    trainer = build_trainer(TrainConfig(accelerator="auto"))
    expected = "CPUAccelerator" if NO_GPU else type(trainer.accelerator).__name__
    assert type(trainer.accelerator).__name__ == expected


class _Seen(Callback):
    def on_fit_start(self, trainer, pl_module) -> None:  # type: ignore[no-untyped-def]
        self.precision = trainer.precision
        self.accelerator = type(trainer.accelerator).__name__
        self.max_epochs = trainer.max_epochs


def test_the_fit_trains_with_the_configured_precision_and_forecasts_in_float32() -> None:
    prices = sample_prices()
    config = TrainConfig(
        model="mlp", window=5, hidden_size=4, max_epochs=1, accelerator="cpu"
    ).model_copy(update={"precision": "bf16-mixed"})
    seen = _Seen()

    network = fit_forecaster(
        prices, config, validation_start=pd.Timestamp("2012-07-02").date(), callbacks=[seen]
    )

    assert (seen.precision, seen.accelerator, seen.max_epochs) == (
        "bf16-mixed",
        "CPUAccelerator",
        1,
    )
    forecast = network.predict(prices)
    assert len(forecast) == 2  # AAPL's and MSFT's next day
    assert forecast[["lower", "predicted_close", "upper"]].notna().all().all()

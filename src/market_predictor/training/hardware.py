"""Where the network trains: Lightning's accelerator, devices, strategy, precision and
number of nodes, as the training config (`configs/train.yaml`) and the MPP_TRAINING_*
settings name them. The allowed values are declared once, here, for both; the module
imports no torch, so the settings can use it.

Only what the project tests is allowed. The strategy is `auto` or `ddp`: `ddp` runs one
process per device through Lightning's own launchers (its launcher re-running the
command on one machine, torchrun or SLURM across several); docs/operations.md says why
not `ddp_spawn`. Precision keeps the weights in float32 (`32-true` or a mixed one): the
fitted network then forecasts from float32 features like any other.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

Accelerator = Literal["auto", "cpu", "gpu", "cuda", "mps"]
Strategy = Literal["auto", "ddp"]
Precision = Literal["32-true", "16-mixed", "bf16-mixed"]
NumNodes = Annotated[int, Field(ge=1)]

# The config's names of the hardware settings (each is MPP_TRAINING_<NAME> too).
HARDWARE = ("accelerator", "devices", "strategy", "precision", "num_nodes")
# One process on one device of the configured accelerator: what every training but
# `mpp train`'s runs on, because Lightning's `ddp` launcher starts each further process
# by re-running this process's command line, which only `mpp train` can be.
SINGLE_PROCESS: dict[str, Any] = {"devices": 1, "strategy": "auto", "num_nodes": 1}


def _devices(value: object) -> object:
    """A positive whole number (from text too) or `auto`; anything else is refused."""
    if isinstance(value, str):
        text = value.strip().lower()
        value = text if text == "auto" else int(text) if text.isdigit() else value
    if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ValueError("must be a whole number of devices (at least 1) or 'auto'")


Devices = Annotated[int | Literal["auto"], BeforeValidator(_devices)]

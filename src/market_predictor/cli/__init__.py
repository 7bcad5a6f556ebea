"""`mpp`: the command line. Each command group lives in its own module and only
calls library functions; this module just assembles them."""

from __future__ import annotations

import importlib
import os
import sys

import typer

app = typer.Typer(
    name="mpp",
    help="Market Price Predictor: next-day closing price forecasts that run themselves.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that register commands on `app`; each is owned by one pipeline stage.
_COMMAND_MODULES = (
    "ingest",
    "dataset",
    "train",
    "models",
    "backtest",
    "tune",
    "predict",
    "monitor",
    "daily",
    "replay",
    "demo",
    "serve",
    "dashboard",
    "airflow",
)


def _register() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(f"market_predictor.cli.{name}").register(app)


_register()


def main() -> None:
    """The `mpp` console script."""
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code
    else:
        code = 0
    # Leave without interpreter teardown: native thread pools (Arrow's, torch's) can
    # abort the process while their static destructors race at shutdown ("terminate
    # called without an active exception"), turning a finished command into exit -6.
    # Everything the command wrote is a committed transaction by now; only the
    # standard streams still need flushing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))

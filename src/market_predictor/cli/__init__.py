"""`mpp`: the command line. Each command group lives in its own module and only
calls library functions; this module just assembles them."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

# Typer vendors Click; the "no arguments: show help" signal is only named there.
from typer._click.exceptions import NoArgsIsHelpError

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


@app.callback()
def _options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="On an error, print its details (traceback) too (MPP_DEBUG=1)."
        ),
    ] = False,
) -> None:
    if verbose:
        os.environ["MPP_DEBUG"] = "1"


def _register() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(f"market_predictor.cli.{name}").register(app)


_register()


def main() -> None:
    """The `mpp` console script."""
    try:
        code: object = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        code = exc.exit_code
    except typer.TyperException as exc:
        # A parse error: one line naming the command, like every other error (Click's
        # own rendering is a usage box).
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "mpp"
        message = " ".join(exc.format_message().split())
        sys.stderr.write(f"error: {command}: {message}\n")
        code = exc.exit_code
    except typer.Abort:
        sys.stderr.write("aborted\n")
        code = 130
    except SystemExit as exit_:
        code = exit_.code
    # Leave without interpreter teardown: native thread pools (Arrow's, torch's) can
    # abort the process while their static destructors race at shutdown ("terminate
    # called without an active exception"), turning a finished command into exit -6.
    # Everything the command wrote is a committed transaction by now; only the
    # standard streams still need flushing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))

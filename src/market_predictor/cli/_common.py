"""What every `mpp` command shares: exit codes, --json output, dates and progress bars.

Exit codes: 0 success, 2 bad input (one line, nothing written), 1 runtime failure.
Every error is one line on stderr; `mpp --verbose` or MPP_DEBUG=1 adds the traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import Progress

from market_predictor.checks import first_line
from market_predictor.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")
]

SourceOption = Annotated[
    str | None,
    typer.Option(help="yfinance | sample | csv | parquet (default: MPP_SOURCE, else yfinance)"),
]
SourcePathOption = Annotated[
    Path | None, typer.Option("--path", help="File for the csv/parquet sources.")
]
SymbolsOption = Annotated[
    str | None, typer.Option(help="Comma-separated tickers (default: MPP_SYMBOLS).")
]
RetrainOption = Annotated[
    bool, typer.Option(help="Train a challenger when monitoring recommends it.")
]
RetrainEpochsOption = Annotated[
    int | None, typer.Option(help="Epoch budget of a retrain (default: training config).")
]

console = Console()
err_console = Console(stderr=True)


def run_command(
    work: Callable[[], R | None],
    json_output: bool,
    render: Callable[[R], None] | None = None,
) -> None:
    """Run `work`, map its failures to exit codes, print its result (a pydantic model,
    printed as `model_dump(mode="json")` with --json, or a plain mapping). None prints
    nothing: a process of a DDP training run other than the first, which reports."""
    try:
        result = work()
    except InputError as exc:
        _print_details()
        lines = str(exc).strip().splitlines()
        flag = f" (option --{exc.param.replace('_', '-')})" if exc.param else ""
        err_console.print(
            f"error: {lines[0] if lines else type(exc).__name__}{flag}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
    except Exception as exc:
        _print_details()
        err_console.print(
            f"failed: {first_line(exc)}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    if result is None:
        return
    if json_output:
        sys.stdout.write(json.dumps(_jsonable(result), default=_json_default) + "\n")
    elif render is not None:
        render(result)
    else:
        console.print_json(json.dumps(_jsonable(result), default=_json_default))
    failed = (
        result.get("failed_step")
        if isinstance(result, Mapping)
        else getattr(result, "failed_step", None)
    )
    if failed:
        raise typer.Exit(1)


def _jsonable(result: object) -> object:
    return result.model_dump(mode="json") if isinstance(result, BaseModel) else result


def parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"malformed {name} date {value!r}: use YYYY-MM-DD") from None


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """A progress bar on an interactive terminal; silent otherwise (CI, --json, pipes)."""
    if not err_console.is_terminal:
        yield from items
        return
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


def debug_enabled() -> bool:
    """`mpp --verbose` or MPP_DEBUG=1 (any value but empty, 0 or false)."""
    return os.environ.get("MPP_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _print_details() -> None:
    """The current exception's full traceback on stderr, when details were asked for."""
    if debug_enabled():
        sys.stderr.write(traceback.format_exc())


def _json_default(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()  # numpy scalars
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

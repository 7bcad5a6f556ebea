"""What every `mpp` command shares: exit codes, --json output, dates and progress bars.

Exit codes: 0 success, 2 bad input (one line, nothing written), 1 runtime failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress

from market_predictor.errors import InputError, MPPError

T = TypeVar("T")

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
    work: Callable[[], Mapping[str, Any]],
    json_output: bool,
    render: Callable[[Mapping[str, Any]], None] | None = None,
) -> None:
    """Run `work`, map its failures to exit codes, print its summary."""
    try:
        summary = work()
    except InputError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except (MPPError, Exception) as exc:
        if os.environ.get("MPP_DEBUG"):
            raise
        err_console.print(
            f"failed: {_one_line(exc)}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    if json_output:
        sys.stdout.write(json.dumps(summary, default=_json_default) + "\n")
    elif render is not None:
        render(summary)
    else:
        console.print_json(json.dumps(summary, default=_json_default))
    failed = summary.get("failed_step") if isinstance(summary, Mapping) else None
    if failed:
        raise typer.Exit(1)


def parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"malformed {name} date {value!r}: use YYYY-MM-DD") from None


def check_range(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and start > end:
        raise InputError(f"start {start} is after end {end}")


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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _json_default(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()  # numpy scalars
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

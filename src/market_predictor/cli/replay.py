"""`mpp replay`: the daily job for every trading day of a past period."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from market_predictor.cli._common import (
    JsonOption,
    RetrainEpochsOption,
    RetrainOption,
    SourceOption,
    SourcePathOption,
    SymbolsOption,
    console,
    parse_date,
    run_command,
    track,
)

if TYPE_CHECKING:
    from market_predictor.results import ReplayReport


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)


def replay(
    start: Annotated[str, typer.Option(help="First as-of day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last as-of day, inclusive.")],
    source: SourceOption = None,
    path: SourcePathOption = None,
    symbols: SymbolsOption = None,
    retrain: RetrainOption = True,
    max_epochs: RetrainEpochsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Replay production from START to END, each day seeing only data up to itself."""

    def work() -> ReplayReport:
        from market_predictor.checks import check_range
        from market_predictor.config import get_settings
        from market_predictor.pipeline import replay as run_replay

        first, last = parse_date(start, "start"), parse_date(end, "end")
        check_range(first, last)
        assert first is not None and last is not None  # both options are required

        def progress(days: Iterable[Any]) -> Iterable[Any]:
            days = list(days)
            return track(days, "replaying trading days", total=len(days))

        return run_replay(
            get_settings(),
            start=first,
            end=last,
            source=source,
            path=path,
            symbols=symbols,
            retrain=retrain,
            max_epochs=max_epochs,
            progress=progress,
        )

    run_command(work, json_output, render=render_replay)


def render_replay(summary: ReplayReport) -> None:
    console.print(
        f"replayed {summary.completed_days} of {summary.trading_days} trading days "
        f"{summary.start} .. {summary.end}: {summary.predictions_inserted} predictions "
        f"and {summary.errors_inserted} realised errors inserted",
        markup=False,
    )
    for retrain in summary.retrains:
        console.print(
            f"retrained on {retrain.as_of}, {retrain.retrain_trigger} "
            f"(champion now v{retrain.champion_version})",
            markup=False,
        )
    if summary.failed_step:
        console.print(
            f"[red]stopped on {summary.failed_day} at {summary.failed_step}:[/] {summary.error}"
        )

"""`mpp daily`: ingest -> predict -> monitor -> retrain if flagged, for one trading day."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

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
)

if TYPE_CHECKING:
    from market_predictor.results import DailyReport


def register(app: typer.Typer) -> None:
    app.command("daily")(daily)


def daily(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Trading day to run, YYYY-MM-DD (default: latest)."),
    ] = None,
    source: SourceOption = None,
    path: SourcePathOption = None,
    symbols: SymbolsOption = None,
    retrain: RetrainOption = True,
    max_epochs: RetrainEpochsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run one day of production; re-running a finished day changes nothing."""

    def work() -> DailyReport:
        from market_predictor.config import get_settings
        from market_predictor.pipeline import run_daily

        cut = parse_date(as_of, "as-of")
        return run_daily(
            get_settings(),
            as_of=cut,
            source=source,
            path=path,
            symbols=symbols,
            retrain=retrain,
            max_epochs=max_epochs,
        )

    run_command(work, json_output, render=render_daily)


def render_daily(summary: DailyReport) -> None:
    from market_predictor.cli.monitor import render_monitoring
    from market_predictor.cli.predict import render_predictions

    steps = summary.steps
    if steps.ingest:
        console.print(
            f"ingest: {steps.ingest.fetched} fetched, {steps.ingest.inserted} inserted, "
            f"{steps.ingest.updated} updated, {steps.ingest.quarantined} quarantined",
            markup=False,
        )
    if steps.predict:
        render_predictions(steps.predict)
    if steps.monitor:
        render_monitoring(steps.monitor)
    if steps.retrain:
        trigger = f" ({steps.retrain.trigger})" if steps.retrain.trigger else ""
        console.print(f"retrain: {steps.retrain.status}{trigger}", markup=False)
        for symbol, reason in steps.retrain.reasons.items():
            console.print(f"  {'' if symbol == '*' else symbol + ': '}{reason}", markup=False)
        if steps.retrain.train:
            console.print(steps.retrain.train.message, markup=False)
    if steps.compact and steps.compact.compacted:
        console.print(f"compacted: {', '.join(steps.compact.compacted)}", markup=False)
    if summary.failed_step:
        console.print(f"[red]failed at {summary.failed_step}:[/] {summary.error}")
    else:
        console.print(summary.message, markup=False)

"""`mpp daily`: ingest -> predict -> monitor -> retrain if flagged, for one trading day."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

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

    def work() -> dict[str, Any]:
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
        ).to_dict()

    run_command(work, json_output, render=render_daily)


def render_daily(summary: Mapping[str, Any]) -> None:
    from market_predictor.cli.monitor import render_monitoring
    from market_predictor.cli.predict import render_predictions

    steps = summary["steps"]
    if "ingest" in steps:
        ingest = steps["ingest"]
        console.print(
            f"ingest: {ingest['fetched']} fetched, {ingest['inserted']} inserted, "
            f"{ingest['updated']} updated, {ingest['quarantined']} quarantined",
            markup=False,
        )
    if "predict" in steps:
        render_predictions(steps["predict"])
    if "monitor" in steps:
        render_monitoring(steps["monitor"])
    if "retrain" in steps:
        retrain = steps["retrain"]
        console.print(f"retrain: {retrain['status']}", markup=False)
        if "train" in retrain:
            console.print(retrain["train"].get("message", ""), markup=False)
    if steps.get("compact", {}).get("compacted"):
        console.print(f"compacted: {', '.join(steps['compact']['compacted'])}", markup=False)
    if summary["failed_step"]:
        console.print(f"[red]failed at {summary['failed_step']}:[/] {summary['error']}")
    else:
        console.print(summary["message"], markup=False)

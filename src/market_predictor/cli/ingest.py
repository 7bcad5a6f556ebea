"""`mpp ingest`: fetch daily prices into the feature store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from market_predictor.cli._common import (
    JsonOption,
    SourceOption,
    SourcePathOption,
    SymbolsOption,
    console,
    parse_date,
    run_command,
)

if TYPE_CHECKING:
    from market_predictor.results import IngestResult


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    symbols: SymbolsOption = None,
    start: Annotated[
        str | None,
        typer.Option(help="First date, YYYY-MM-DD (default: resume each symbol's history)."),
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last date, inclusive (default: as-of).")] = None,
    source: SourceOption = None,
    path: SourcePathOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Knowledge cut: later rows are quarantined (default: today)."),
    ] = None,
    feature_group_version: Annotated[
        int | None, typer.Option(help="Version of the prices feature group to write.")
    ] = None,
    interval: Annotated[str, typer.Option(help="Bar interval; only 1d (daily).")] = "1d",
    json_output: JsonOption = False,
) -> None:
    """Fetch daily prices, quarantine rows that break the contract, upsert the rest."""

    def work() -> IngestResult:
        from market_predictor.checks import check_range
        from market_predictor.config import get_settings
        from market_predictor.ingest import ingest_prices
        from market_predictor.symbols import parse_symbols

        first, last = parse_date(start, "start"), parse_date(end, "end")
        cut = parse_date(as_of, "as-of")
        check_range(first, last)
        summary = ingest_prices(
            get_settings(),
            symbols=parse_symbols(symbols),
            start=first,
            end=last,
            source=source,
            path=path,
            as_of=cut,
            feature_group_version=feature_group_version,
            interval=interval,
        )
        return summary

    run_command(work, json_output, render=_render)


def _render(summary: IngestResult) -> None:
    from rich.table import Table

    table = Table(title=f"Ingested from {summary.source}", show_header=False)
    table.add_column("field", style="cyan")
    table.add_column("value", justify="right")
    table.add_row("symbols", ", ".join(summary.symbols))
    table.add_row("range", f"{summary.start or 'resume'} .. {summary.end}")
    for key in ("fetched", "inserted", "updated", "unchanged", "quarantined"):
        table.add_row(key, str(getattr(summary, key)))
    for reason, count in summary.quarantine_reasons.items():
        table.add_row(f"  {reason}", str(count))
    table.add_row("table version", str(summary.table_version))
    table.add_row("feature group version", str(summary.feature_group_version))
    console.print(table)

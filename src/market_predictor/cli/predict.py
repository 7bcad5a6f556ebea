"""`mpp predict`: the champion's next-trading-day forecasts for every symbol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from market_predictor.cli._common import JsonOption, SymbolsOption, console, parse_date, run_command

if TYPE_CHECKING:
    from market_predictor.results import PredictionBatch

AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Close to predict from, YYYY-MM-DD (default: latest stored)."),
]


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)


def predict(
    as_of: AsOfOption = None,
    symbols: SymbolsOption = None,
    model_name: Annotated[
        str | None, typer.Option(help="Registered model (default: MPP_MODEL_NAME).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Forecast the next trading day's close with a 10%-90% interval and store it."""

    def work() -> PredictionBatch:
        from market_predictor.config import get_settings
        from market_predictor.day import resolve_day
        from market_predictor.inference import predict as run_predict
        from market_predictor.symbols import parse_symbols

        day = resolve_day(
            get_settings(),
            as_of=parse_date(as_of, "as-of"),
            symbols=parse_symbols(symbols),
            model_name=model_name,
            default_as_of="latest_stored",
        )
        return run_predict(day)

    run_command(work, json_output, render=render_predictions)


def render_predictions(summary: PredictionBatch) -> None:
    from rich.table import Table

    kind = "persistence baseline" if summary.is_baseline else "model"
    table = Table(
        title=(
            f"Forecasts for {summary.target_date} as of {summary.as_of} "
            f"({summary.model_name} v{summary.model_version}, {kind})"
        )
    )
    for column in ("symbol", "last close", "predicted", "10%", "90%"):
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for row in summary.predictions:
        table.add_row(
            row.symbol,
            f"{row.last_close:.2f}",
            f"{row.predicted_close:.2f}",
            f"{row.lower:.2f}",
            f"{row.upper:.2f}",
        )
    console.print(table)
    for symbol, reason in summary.skipped.items():
        console.print(f"skipped {symbol}: {reason}", markup=False)
    console.print(
        f"{summary.inserted} inserted, {summary.updated} updated "
        f"(predictions table version {summary.table_version})"
    )

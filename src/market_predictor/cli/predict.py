"""`mpp predict`: the champion's forecasts at each of its horizons for every symbol."""

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
    """Forecast the close at each of the champion's horizons (the next trading day, and
    5 and 21 trading days on for a multi-horizon model) with a 10%-90% interval, and store
    them. --json lists one prediction per symbol and horizon."""

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
    """One line per symbol and horizon (the next trading day first), so the 5- and
    21-day ranges read beside the next-day one."""
    from rich.table import Table

    kind = "persistence baseline" if summary.is_baseline else "model"
    table = Table(
        title=(
            f"Forecasts as of {summary.as_of} "
            f"({summary.model_name} v{summary.model_version}, {kind})"
        )
    )
    for column in ("symbol", "horizon", "target", "last close", "predicted", "10%", "90%"):
        table.add_column(column, justify="left" if column in ("symbol", "target") else "right")
    for row in sorted(summary.predictions, key=lambda r: (r.symbol, r.horizon)):
        table.add_row(
            row.symbol,
            f"{row.horizon}d",
            str(row.target_date or "–"),
            _price(row.last_close),
            _price(row.predicted_close),
            _price(row.lower),
            _price(row.upper),
        )
    console.print(table)
    for symbol, reason in summary.skipped.items():
        console.print(f"skipped {symbol}: {reason}", markup=False)
    console.print(
        f"{summary.inserted} inserted, {summary.updated} updated "
        f"(predictions table version {summary.table_version})"
    )


def _price(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"

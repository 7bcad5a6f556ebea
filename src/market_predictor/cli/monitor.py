"""`mpp monitor`: realised errors, rolling skill against persistence, drift, retrain flag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from market_predictor.cli._common import JsonOption, console, parse_date, run_command

if TYPE_CHECKING:
    from market_predictor.results import MonitorResult, SymbolSkill


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)


def monitor(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Day to monitor, YYYY-MM-DD (default: latest stored)."),
    ] = None,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated tickers (default: all predicted).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Score predictions whose day has come and flag symbols whose skill decayed."""

    def work() -> MonitorResult:
        from market_predictor.config import get_settings
        from market_predictor.day import ALL_SYMBOLS, resolve_day
        from market_predictor.monitoring import monitor as run_monitor
        from market_predictor.symbols import parse_symbols

        day = resolve_day(
            get_settings(),
            as_of=parse_date(as_of, "as-of"),
            symbols=parse_symbols(symbols) or ALL_SYMBOLS,
            default_as_of="latest_stored",
            purpose="monitor",
        )
        return run_monitor(day)

    run_command(work, json_output, render=render_monitoring)


def render_monitoring(summary: MonitorResult) -> None:
    from rich.table import Table

    from market_predictor.triggers import PERFORMANCE_WINDOW

    if not summary.symbols:
        console.print(summary.message, markup=False)
        return
    table = Table(
        title=(
            f"Monitoring as of {summary.as_of} ({summary.model_name}): skill over the last "
            f"{PERFORMANCE_WINDOW} realised days; each trigger test at level "
            f"{_number(summary.test_level, 5)} (family-wise {summary.alpha} a day)"
        ),
        show_edge=False,
    )
    columns = ("symbol", "n", "MAE", "persistence", "MASE", "coverage", "direction", "test")
    for column in columns:
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for symbol, row in summary.symbols.items():
        table.add_row(
            symbol,
            str(row.n),
            _number(row.mae),
            _number(row.persistence_mae),
            _number(row.mase, 3),
            _number(row.coverage, 2),
            _number(row.directional_accuracy, 2),
            _test(row),
        )
    console.print(table)
    for symbol, reason in summary.reasons.items():
        console.print(f"retrain recommended for {symbol}: {reason}", markup=False)
    console.print(
        f"{summary.new_errors} new realised errors, {summary.pending} awaiting actuals. "
        f"{summary.message}",
        markup=False,
    )


def _test(row: SymbolSkill) -> str:
    """The reported test: name, statistic, rejection rule and window."""
    if row.test is None:
        return "-"
    return f"{row.test} {_number(row.statistic, 3)} {row.threshold} (n={row.test_window})"


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"

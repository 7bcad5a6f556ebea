"""`mpp backtest`: walk-forward metrics of the network beside every baseline."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from market_predictor.checks import check_range
from market_predictor.cli._common import (
    JsonOption,
    console,
    parse_date,
    run_command,
    track,
)
from market_predictor.config import get_settings
from market_predictor.symbols import parse_symbols
from market_predictor.training.config import DEFAULT_RETRAIN_EVERY

if TYPE_CHECKING:
    from market_predictor.interval_tests import HitBacktest
    from market_predictor.results import BacktestReport

# Column heading and format of each metric, in display order.
_COLUMNS = (
    ("n", "N", "{:.0f}"),
    ("mae", "MAE", "{:.3f}"),
    ("rmse", "RMSE", "{:.3f}"),
    ("mape", "MAPE%", "{:.2f}"),
    ("mase", "MASE", "{:.3f}"),
    ("directional_accuracy", "Dir.", "{:.3f}"),
    ("coverage", "Cover", "{:.3f}"),
    ("pinball", "Pinball", "{:.5f}"),
    # The same interval without the online scale (absent when MPP_ONLINE_CALIBRATION=false).
    ("coverage_static", "Cover0", "{:.3f}"),
    ("pinball_static", "Pinball0", "{:.5f}"),
)


def register(app: typer.Typer) -> None:
    @app.command("backtest")
    def backtest_command(
        symbols: Annotated[
            str | None,
            typer.Option(help="Comma-separated symbols (default: the configured, stored ones)."),
        ] = None,
        start: Annotated[
            str | None, typer.Option(help="First as-of date (default: a year before --end).")
        ] = None,
        end: Annotated[
            str | None, typer.Option(help="Last as-of date (default: the last stored date).")
        ] = None,
        retrain_every: Annotated[
            str, typer.Option(help="Refit period: months or weeks, e.g. 3M, 1M, 6M, 2W.")
        ] = DEFAULT_RETRAIN_EVERY,
        model: Annotated[
            str | None,
            typer.Option(help="Network: lstm, transformer or mlp (default: the training config)."),
        ] = None,
        max_epochs: Annotated[
            int | None, typer.Option(help="Override the training config's max_epochs.")
        ] = None,
        baselines_only: Annotated[
            bool, typer.Option("--baselines-only", help="Skip the network (fast).")
        ] = False,
        json_output: JsonOption = False,
    ) -> None:
        """Walk-forward backtest of the network beside persistence, drift and GARCH(1,1)-t.

        Refits on an expanding window every period, forecasts each next day and compares
        every forecaster on the same rows.
        """

        def work() -> BacktestReport:
            from market_predictor.backtest import backtest, parse_retrain_every

            chosen = parse_symbols(symbols) if symbols else None
            first = parse_date(start, "--start")
            last = parse_date(end, "--end")
            check_range(first, last)
            parse_retrain_every(retrain_every)
            result = backtest(
                get_settings(),
                symbols=chosen,
                start=first,
                end=last,
                retrain_every=retrain_every,
                model=model,
                max_epochs=max_epochs,
                include_network=not baselines_only,
                progress=lambda folds: track(folds, "Walk-forward folds", total=len(folds)),
            )
            return result.report()

        run_command(work, json_output, render=_render)


def _render(summary: BacktestReport) -> None:
    folds = summary.folds
    table = Table(
        title=(
            f"Walk-forward {summary.start} .. {summary.end}, "
            f"refit every {summary.retrain_every} ({len(folds)} folds)"
        ),
        caption=(
            "MASE < 1 beats persistence; Dir. = directional accuracy; "
            "Cover = share of closes inside the 10%-90% interval, with the online scale; "
            "Cover0, Pinball0: the same without it. ALL pools the days every forecaster "
            "forecasts."
        ),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("Symbol", no_wrap=True)
    table.add_column("Forecaster", no_wrap=True)
    for _, heading, _ in _COLUMNS:
        table.add_column(heading, justify="right", no_wrap=True)
    metrics = summary.metrics
    symbols = [*summary.symbols, "ALL"]
    for index, symbol in enumerate(symbols):
        for name in summary.forecasters:
            values = metrics.get(name, {}).get(symbol)
            if values is None:
                continue
            cells = [format_value(getattr(values, key, None), fmt) for key, _, fmt in _COLUMNS]
            table.add_row(symbol, name, *cells)
        if index < len(symbols) - 1:
            table.add_section()
    console.print(table)
    if summary.horizon_metrics:
        console.print(_horizon_table(summary))
    if summary.interval_tests:
        console.print(_interval_test_table(summary))


def _horizon_table(summary: BacktestReport) -> Table:
    """Every forecaster's pooled MASE, coverage and pinball at each longer horizon."""
    table = Table(
        title="Longer horizons, all symbols",
        caption="Persistence is the no-change forecast with a sqrt(h)-wide band.",
        box=box.SIMPLE_HEAD,
    )
    for heading in ("Horizon", "Forecaster", "MASE", "Cover", "Pinball"):
        table.add_column(heading, justify="right" if heading != "Forecaster" else "left")
    for horizon, by_forecaster in sorted(summary.horizon_metrics.items()):
        for name in summary.forecasters:
            values = by_forecaster.get(name, {}).get("ALL")
            if values is None:
                continue
            table.add_row(
                f"{horizon} d",
                name,
                format_value(values.mase, "{:.3f}"),
                format_value(values.coverage, "{:.3f}"),
                format_value(values.pinball, "{:.4f}"),
            )
        table.add_section()
    return table


def _interval_test_table(summary: BacktestReport) -> Table:
    """Kupiec (POF) and Christoffersen (independence, conditional coverage) p-values of
    each tail of the next-day interval, per symbol, and the interval score."""
    table = Table(
        title="Interval backtests (p-values; * rejected at 5%)",
        caption="POF: hit rate = nominal; Ind: hits do not cluster; CC: both.",
        box=box.SIMPLE_HEAD,
    )
    for heading in ("Symbol", "Forecaster", "Low POF", "Low Ind", "Low CC"):
        table.add_column(heading, justify="right" if " " in heading else "left")
    for heading in ("High POF", "High Ind", "High CC", "Int. score"):
        table.add_column(heading, justify="right")
    for symbol in [*summary.symbols, "ALL"]:
        for name in summary.forecasters:
            tests = summary.interval_tests.get(name, {}).get(symbol)
            if tests is None:
                continue
            cells = p_value_cells(tests.lower, tests.upper)
            table.add_row(symbol, name, *cells, format_value(tests.interval_score, "{:.3f}"))
        table.add_section()
    return table


def p_value_cells(*sequences: HitBacktest) -> list[str]:
    """The POF, independence and conditional-coverage p-values of each hit sequence,
    each marked * when rejected."""
    cells = []
    for hits in sequences:
        for test in (hits.pof, hits.independence, hits.conditional_coverage):
            cells.append(format_value(test.p_value, "{:.3f}") + ("*" if test.rejected else ""))
    return cells


def format_value(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)

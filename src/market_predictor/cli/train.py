"""`mpp train`: fit a network, compare it with persistence and the champion, register it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from market_predictor.checks import check_range
from market_predictor.cli._common import JsonOption, console, parse_date, run_command

if TYPE_CHECKING:
    from market_predictor.results import TrainResult

_METRIC_ROWS = (
    ("pinball", "Pinball loss", "{:.5f}"),
    ("mae", "MAE", "{:.3f}"),
    ("rmse", "RMSE", "{:.3f}"),
    ("mape", "MAPE %", "{:.2f}"),
    ("mase", "MASE", "{:.3f}"),
    ("directional_accuracy", "Directional acc.", "{:.3f}"),
    ("coverage", "10-90% coverage", "{:.3f}"),
    ("n", "Forecasts", "{:d}"),
)


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        symbols: Annotated[
            str | None, typer.Option(help="Comma-separated symbols (default: all stored).")
        ] = None,
        start: Annotated[str | None, typer.Option(help="First date (YYYY-MM-DD).")] = None,
        end: Annotated[str | None, typer.Option(help="Last date (YYYY-MM-DD).")] = None,
        dataset_version: Annotated[
            int | None, typer.Option(help="Train on an existing training dataset version.")
        ] = None,
        model: Annotated[
            str | None, typer.Option(help="Network: lstm, transformer or mlp.")
        ] = None,
        max_epochs: Annotated[int | None, typer.Option(help="Upper bound on epochs.")] = None,
        model_name: Annotated[
            str | None, typer.Option(help="Registered model name (default: settings).")
        ] = None,
        promote: Annotated[
            bool, typer.Option("--promote/--no-promote", help="Let the gate move `champion`.")
        ] = True,
        json_output: JsonOption = False,
    ) -> None:
        """Train on the feature store, register a version and run the champion gate."""

        def work() -> TrainResult | None:
            from market_predictor.config import get_settings
            from market_predictor.symbols import parse_symbols
            from market_predictor.training import train

            first, last = parse_date(start, "start"), parse_date(end, "end")
            check_range(first, last)
            summary = train(
                get_settings(),
                symbols=parse_symbols(symbols) if symbols else None,
                start=first,
                end=last,
                dataset_version=dataset_version,
                model=model,
                max_epochs=max_epochs,
                model_name=model_name,
                promote=promote,
                # Lightning's DDP launcher re-runs this very command for each further
                # device, and those processes train here too (None: not the first).
                distributed=True,
            )
            return summary

        run_command(work, json_output, render_summary)


def render_summary(summary: TrainResult) -> None:
    from rich.table import Table

    from market_predictor.training.gate import COMBINED, RIVALS

    metrics = summary.metrics
    table = Table(title=f"Validation from {summary.validation_start}")
    table.add_column("Metric")
    columns = [("model", summary.network.upper()), ("persistence", "Persistence")]
    columns += [
        (
            rival.name,
            "Combined" if rival.name == COMBINED else rival.label[:1].upper() + rival.label[1:],
        )
        for rival in RIVALS
        if rival.name != "persistence" and metrics.get(rival.name)
    ]
    if metrics.get("champion"):
        columns.append(("champion", "Champion"))
    for _, title in columns:
        table.add_column(title, justify="right")
    for key, label, fmt in _METRIC_ROWS:
        cells = []
        for who, _ in columns:
            scores = metrics.get(who)
            value = getattr(scores, key, None) if scores is not None else None
            cells.append("-" if value is None else fmt.format(value))
        table.add_row(label, *cells)
    console.print(table)
    console.print(
        f"run {summary.run_id}  model {summary.model_name}  "
        f"version {summary.version}  champion {summary.champion_version}"
    )
    if len(summary.horizon_metrics) > 1:
        console.print(_horizon_table(summary, columns))
    if summary.interval_tests:
        console.print(_interval_test_table(summary, columns))
    console.print(summary.message, markup=False, highlight=False)


def _horizon_table(summary: TrainResult, columns: list[tuple[str, str]]) -> object:
    """Validation pinball and coverage at every horizon, beside persistence's."""
    from rich.table import Table

    table = Table(title=f"Pinball (coverage) by horizon, gate: {summary.gate_measure}")
    table.add_column("Horizon")
    for _, title in columns:
        table.add_column(title, justify="right")
    for horizon, scored in sorted(summary.horizon_metrics.items()):
        cells = []
        for who, _ in columns:
            values = scored.get(who)
            if values is None or values.pinball is None:
                cells.append("-")
                continue
            coverage = "" if values.coverage is None else f" ({values.coverage:.2f})"
            cells.append(f"{values.pinball:.4f}{coverage}")
        table.add_row(f"{horizon} d", *cells)
    return table


def _interval_test_table(summary: TrainResult, columns: list[tuple[str, str]]) -> object:
    """Each contestant's Kupiec and Christoffersen p-values for each tail and for the
    whole interval of its next-day forecasts, and its interval score."""
    from rich.table import Table

    from market_predictor.cli.backtest import format_value, p_value_cells

    shown = [(who, title) for who, title in columns if who in summary.interval_tests]
    table = Table(
        title="Interval backtests, next day (p-values; * rejected at 5%)",
        caption="POF: hit rate = nominal; Ind: misses do not cluster; CC: both.",
    )
    table.add_column("Test")
    cells = []
    for who, title in shown:
        table.add_column(title, justify="right")
        tests = summary.interval_tests[who]
        cells.append(
            [
                *p_value_cells(tests.lower, tests.upper, tests.interval),
                format_value(tests.interval_score, "{:.3f}"),
            ]
        )
    labels = [f"{part} {test}" for part in ("10%", "90%", "Interval") for test in _TESTS]
    for row, label in enumerate([*labels, "Interval score"]):
        table.add_row(label, *(column[row] for column in cells))
    return table


_TESTS = ("POF", "Ind", "CC")

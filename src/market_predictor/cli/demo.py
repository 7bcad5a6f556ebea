"""`mpp demo`: offline end-to-end run on the sample data (the README's first command)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import typer

from market_predictor.cli._common import JsonOption, console, run_command, track


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    max_epochs: Annotated[
        int | None, typer.Option(help="Epoch budget of the demo's training run.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Ingest the sample prices, train a champion, replay the last 60 trading days."""

    def work() -> dict[str, Any]:
        from market_predictor.config import get_settings
        from market_predictor.demo import DEMO_MAX_EPOCHS, run_demo

        if max_epochs is not None and max_epochs < 1:
            from market_predictor.errors import InputError

            raise InputError(f"--max-epochs must be 1 or more, not {max_epochs}")

        def progress(days: Iterable[Any]) -> Iterable[Any]:
            days = list(days)
            return track(days, "replaying the last 60 trading days", total=len(days))

        _quiet_libraries()
        if not json_output:
            console.print("mpp demo: ingest sample prices, train, replay 60 trading days ...")
        return run_demo(get_settings(), max_epochs=max_epochs or DEMO_MAX_EPOCHS, progress=progress)

    run_command(work, json_output, render=render_demo)


def _quiet_libraries() -> None:
    """The demo is a first impression: keep MLflow's progress bars, schema-migration
    notes and serialisation warnings out of it (the MLflow UI has the details)."""
    import os
    import warnings

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def render_demo(summary: Mapping[str, Any]) -> None:
    from rich.table import Table

    champion = summary["champion"]
    kind = "persistence baseline" if champion["is_baseline"] else champion["kind"]
    targets = {row["latest"]["target_date"] for row in summary["symbols"].values()}
    console.print(
        f"Champion: {champion['name']} v{champion['version']} ({kind}, trained on data up to "
        f"{champion['trained_until']}; {champion['how']})",
        markup=False,
    )
    target = ", ".join(str(t) for t in sorted(targets))
    days = max(row["n"] for row in summary["symbols"].values())
    table = Table(
        title=(
            f"Replay {summary['replay_start']} .. {summary['replay_end']}: MAE of the model and "
            f"of persistence over {days} days (MASE < 1 beats persistence); forecast for {target}"
        ),
        show_edge=False,
    )
    columns = ("symbol", "MAE", "persistence", "MASE", "coverage", "forecast", "10%-90%")
    for column in columns:
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for symbol, row in summary["symbols"].items():
        latest = row["latest"]
        table.add_row(
            symbol,
            _number(row["mae"], 3),
            _number(row["persistence_mae"], 3),
            _number(row["mase"], 3),
            _number(row["coverage"], 2),
            f"{latest['predicted_close']:.2f}",
            f"{latest['lower']:.2f}-{latest['upper']:.2f}",
        )
    console.print(table)
    _print_longer_ranges(summary["symbols"])
    _print_interval_scales(summary["symbols"])
    _print_interval_tests(summary["symbols"])
    rows = summary["table_rows"]
    console.print(
        f"Persistence forecasts tomorrow = today. Tables now hold "
        f"{rows['predictions']} predictions, {rows['errors']} realised errors and "
        f"{rows['summary']} monitoring rows; retraining was recommended on "
        f"{summary['retrain_recommended_days']} of the replayed days "
        f"(the demo records it; `mpp daily` acts on it).",
        markup=False,
    )
    for decision in summary.get("trigger_decisions", []):
        for symbol, reason in decision["reasons"].items():
            who = "" if symbol == "*" else f"{symbol} "
            console.print(
                f"  {decision['as_of']} {decision['trigger']}: {who}{reason}", markup=False
            )
    console.print(f"Done in {summary['seconds']} s. Explore the runs and the registry with:")
    console.print(f"  {summary['mlflow_ui']}", markup=False, highlight=False)
    console.print(
        "See the forecasts in the dashboard: make up  (or `mpp up`: the API and the dashboard "
        "on this home; Ctrl-C stops both)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _print_interval_scales(symbols: Mapping[str, Any]) -> None:
    """The online recalibration's current widening (>1) or narrowing (<1) of each tail
    of the next-day interval, learnt from the replay's realised misses."""
    scales = {s: row["interval_scale"] for s, row in symbols.items() if row.get("interval_scale")}
    if scales:
        text = ", ".join(f"{s} x{v['lower']:.2f}/x{v['upper']:.2f}" for s, v in scales.items())
        console.print(
            f"Online interval scale (lower/upper tail, 1 = as trained): {text}",
            markup=False,
            highlight=False,
        )


def _print_interval_tests(symbols: Mapping[str, Any]) -> None:
    """Each symbol's served next-day interval backtested as a risk desk backtests VaR:
    hits of each tail against its nominal 10%, Kupiec's proportion-of-failures p-value
    and Christoffersen's conditional-coverage p-value (below 0.05 rejects)."""
    from rich.table import Table

    table = Table(
        title="Interval backtests of the replay (p < 0.05 rejects; few hits make them rough)",
        show_edge=False,
    )
    for column in ("symbol", "below 10%", "above 90%", "Kupiec p", "Christoffersen p"):
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for symbol, row in symbols.items():
        tests = row["interval_tests"]
        interval = tests["interval"]
        table.add_row(
            symbol,
            f"{tests['lower']['hits']}/{tests['lower']['n']}",
            f"{tests['upper']['hits']}/{tests['upper']['n']}",
            _number(interval["pof"]["p_value"], 2),
            _number(interval["conditional_coverage"]["p_value"], 2),
        )
    console.print(table)


def _print_longer_ranges(symbols: Mapping[str, Any]) -> None:
    """Each symbol's 10%-90% range of the close a week and a month out (every horizon
    beyond the next day the champion forecasts)."""
    for symbol, row in symbols.items():
        longer = [r for r in row.get("horizons", []) if r["horizon"] != 1]
        if longer:
            ranges = "; ".join(
                f"{r['horizon']}-day ({r['target_date']}) {r['lower']:.2f}-{r['upper']:.2f}"
                for r in longer
            )
            console.print(f"  {symbol} 10%-90%: {ranges}", markup=False, highlight=False)


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"

"""`mpp tune`: Optuna search scored by walk-forward pinball loss; saves the best config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from market_predictor.cli._common import JsonOption, console, parse_date, run_command, track
from market_predictor.config import get_settings
from market_predictor.errors import InputError
from market_predictor.symbols import parse_symbols
from market_predictor.training.config import DEFAULT_RETRAIN_EVERY, DEFAULT_TUNING_FOLDS

if TYPE_CHECKING:
    from market_predictor.results import TuneResult


def register(app: typer.Typer) -> None:
    @app.command("tune")
    def tune_command(
        trials: Annotated[int, typer.Option(help="Optuna trials to run.")] = 20,
        symbols: Annotated[
            str | None,
            typer.Option(help="Comma-separated symbols (default: the configured, stored ones)."),
        ] = None,
        end: Annotated[
            str | None,
            typer.Option(help="Last as-of date of the objective (default: last stored date)."),
        ] = None,
        folds: Annotated[
            int, typer.Option(help="Walk-forward folds each trial is scored on.")
        ] = DEFAULT_TUNING_FOLDS,
        retrain_every: Annotated[
            str, typer.Option(help="Fold length: months or weeks, e.g. 3M, 1M, 2W.")
        ] = DEFAULT_RETRAIN_EVERY,
        max_epochs: Annotated[
            int | None, typer.Option(help="Override the training config's max_epochs.")
        ] = None,
        timeout: Annotated[
            float | None, typer.Option(help="Stop starting new trials after this many seconds.")
        ] = None,
        json_output: JsonOption = False,
    ) -> None:
        """Search hyperparameters with Optuna; the best becomes the training config.

        Searches window length, hidden size, layers, dropout, learning rate and network
        type; each trial is a nested MLflow run scored by its walk-forward pinball loss
        on the most recent folds. The best config is written to MPP_TRAINING_CONFIG if
        set, else MPP_HOME/train.yaml.
        """

        def work() -> TuneResult:
            from market_predictor.tuning import tune

            if timeout is not None and timeout <= 0:
                raise InputError(f"--timeout must be positive, got {timeout}")
            summary = tune(
                get_settings(),
                trials=trials,
                symbols=parse_symbols(symbols) if symbols else None,
                end=parse_date(end, "--end"),
                folds=folds,
                retrain_every=retrain_every,
                max_epochs=max_epochs,
                timeout=timeout,
                progress=lambda items: track(items, "Tuning trials", total=trials),
            )
            return summary

        run_command(work, json_output, render=_render)


def _render(summary: TuneResult) -> None:
    table = Table(
        title=(
            f"Best of {summary.trials} trials (#{summary.best_trial}; "
            f"{summary.pruned} pruned, {summary.failed} failed)"
        )
    )
    table.add_column("Hyperparameter")
    table.add_column("Value", justify="right")
    for name, value in summary.best_params.items():
        table.add_row(name, f"{value:.3g}" if isinstance(value, float) else str(value))
    console.print(table)
    verdict = "beats" if summary.beats_persistence else "does not beat"
    console.print(
        f"Walk-forward pinball {summary.best_pinball:.5f} vs persistence "
        f"{summary.persistence_pinball:.5f} over {summary.start} .. {summary.end} "
        f"({summary.folds} folds): the best config {verdict} the naive forecast.",
        highlight=False,
    )
    console.print(
        f"Saved as the training config: {summary.config_path} "
        f"(MLflow parent run {summary.parent_run_id}).",
        highlight=False,
        markup=False,
    )

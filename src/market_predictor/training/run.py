"""The MLflow side of `mpp train`: one run holding the config, the dataset's lineage,
the network's epoch losses, every contestant's validation metrics and figures, the
registered network (with the gate's verdict in its tags), and afterwards what the
gate made champion.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from market_predictor import registry
from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.interval_tests import IntervalBacktest, as_metrics
from market_predictor.training.config import NETWORK_DISPLAY_NAMES, TrainConfig
from market_predictor.training.evaluate import HeldOutWindows, rows_before
from market_predictor.training.gate import BASELINE, CHAMPION, GATING, NETWORK, GateOutcome

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from market_predictor.models.forecaster import Forecaster
    from market_predictor.registry import ChampionModel
    from market_predictor.store import TrainingDataset

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_model_name(name: str) -> str:
    if not _MODEL_NAME.match(name):
        raise InputError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' (max 100)"
        )
    return name


def current_champion(client: MlflowClient, name: str) -> ChampionModel | None:
    current = registry.champion_version(client, name)
    return registry.load_version(client, name, str(current.version)) if current else None


@dataclass(frozen=True)
class Registered:
    """The versions a training run registered, and the champion once the gate acted."""

    version: str  # the network's (challenger)
    champion_version: str | None
    rivals: dict[str, str] = field(default_factory=dict)  # a serving rival's version
    baseline_version: str | None = None


@dataclass
class TrainingRun:
    settings: Settings
    client: MlflowClient
    name: str
    config: TrainConfig
    dataset: TrainingDataset
    windows: HeldOutWindows
    champion: ChampionModel | None
    tags: dict[str, str]
    run_id: str = ""

    def epoch_logger(self) -> Any:
        """Lightning's logger writing each epoch's train/val loss into this very run."""
        from lightning.pytorch.loggers import MLFlowLogger

        return MLFlowLogger(tracking_uri=self.settings.resolved_tracking_uri, run_id=self.run_id)

    def register(self, network: Forecaster, outcome: GateOutcome, rows: pd.DataFrame) -> str:
        """Tag the run with the gate's verdict, register the network and make it
        `challenger`; returns its version."""
        import mlflow

        from market_predictor.features import build_features
        from market_predictor.triggers import drift_reference

        tags = self.gate_tags(outcome, getattr(network, "median_source", "network"))
        mlflow.set_tags(tags)
        version = registry.register_forecaster(
            self.client,
            self.name,
            network,
            trained_until=self.trained_until(rows),
            drift_profile=drift_reference(build_features(rows)),
            tags={**tags, "network": self.config.model},
        )
        self.client.set_registered_model_alias(self.name, registry.CHALLENGER, version)
        return version

    def gate_tags(self, outcome: GateOutcome, median_source: str) -> dict[str, str]:
        return {
            "gate_decision": outcome.decision,
            "gate_reason": outcome.reason,
            **_pinball_tags(outcome, (NETWORK, *GATING, CHAMPION)),
            "validation_start": self.windows.validation_start.isoformat(),
            "compared_with_champion": "" if self.champion is None else self.champion.version,
            "dataset_version": self.dataset.lineage()["dataset_version"],
            "median_source": median_source,
            **self.tags,
        }

    def carry_out(
        self,
        outcome: GateOutcome,
        version: str,
        rivals: Mapping[str, Forecaster],
        rows: pd.DataFrame,
    ) -> Registered:
        """Make champion what the gate chose: the network, a serving rival or the
        persistence baseline (each of the latter registered in a run of its own)."""
        trained_until = self.trained_until(rows)
        promoted_tags = {
            "source_run_id": self.run_id,
            **_pinball_tags(outcome, (NETWORK, *GATING)),
            "validation_start": self.windows.validation_start.isoformat(),
            **self.tags,
        }
        served: dict[str, str] = {}
        baseline = None
        chosen = outcome.new_champion
        if chosen == NETWORK:
            registry.set_champion(self.client, self.name, version, promoted_by="gate")
        elif chosen == BASELINE:
            baseline = registry.register_baseline(
                self.settings,
                self.name,
                promote=True,
                trained_until=trained_until,
                prices=rows_before(rows, self.windows.validation_start),
                tags={"gate_decision": "baseline_fallback", **promoted_tags},
            )
        elif chosen is not None:
            served[chosen] = registry.register_rival(
                self.settings,
                self.name,
                rivals[chosen],
                promote=True,
                trained_until=trained_until,
                profile_rows=rows,
                tags={"gate_decision": f"{chosen}_promoted", **promoted_tags},
            )
        now = registry.champion_version(self.client, self.name)
        return Registered(
            version=version,
            champion_version=None if now is None else str(now.version),
            rivals=served,
            baseline_version=baseline,
        )

    @staticmethod
    def trained_until(rows: pd.DataFrame) -> dt.date:
        return pd.Timestamp(rows["date"].max()).date()


@contextmanager
def training_run(
    settings: Settings,
    client: MlflowClient,
    name: str,
    config: TrainConfig,
    dataset: TrainingDataset,
    windows: HeldOutWindows,
    champion: ChampionModel | None,
    tags: Mapping[str, str],
) -> Iterator[TrainingRun]:
    """An MLflow run with the config as params and the dataset's lineage as params and
    tags (`tags` added to the run's own)."""
    import mlflow

    from market_predictor.tracking import ensure_experiment, flat_params

    experiment_id = ensure_experiment(client, settings)
    lineage = dataset.lineage()
    training = TrainingRun(settings, client, name, config, dataset, windows, champion, dict(tags))
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{config.model}-{name}") as run:
        training.run_id = run.info.run_id
        mlflow.set_tags(
            {
                "model_name": name,
                "network": config.model,
                **tags,
                **{f"lineage.{k}": v for k, v in lineage.items()},
            }
        )
        mlflow.log_params({**flat_params(config.model_dump(mode="json")), **lineage})
        mlflow.log_param("validation_start", windows.validation_start.isoformat())
        mlflow.log_param("early_stopping_start", windows.stopping_start.isoformat())
        yield training


def log_validation(
    by_horizon: Mapping[int, Mapping[str, Mapping[str, float]]],
    network_rows: pd.DataFrame,
    network: str,
) -> None:
    """Every contestant's metrics, in the active run, as val_<who>_<metric> at the next
    day and val_<who>_h<h>_<metric> at a longer horizon h (who: a gate.SCORED name, which
    is how the API finds them), and the network's next-day figures."""
    import mlflow

    for horizon, metrics in by_horizon.items():
        infix = "" if horizon == 1 else f"h{horizon}_"
        for who, values in metrics.items():
            mlflow.log_metrics({f"val_{who}_{infix}{k}": float(v) for k, v in values.items()})
    if "horizon" in network_rows:
        network_rows = network_rows[network_rows["horizon"] == 1]
    _log_figures(network_rows, network)


def log_interval_tests(tests: Mapping[str, IntervalBacktest]) -> None:
    """Each contestant's VaR-style backtests, in the active run, as
    interval_test.<who>.<path> metrics (interval_tests.as_metrics; the API reads them
    back with from_metrics)."""
    import mlflow

    for who, backtest in tests.items():
        mlflow.log_metrics(as_metrics(who, backtest))


def _pinball_tags(outcome: GateOutcome, names: tuple[str, ...]) -> dict[str, str]:
    """val_pinball_<who> of each name ("" for a contestant that was not compared)."""
    pinballs = outcome.pinballs
    return {
        f"val_pinball_{who}": f"{pinballs[who]:.6g}" if who in pinballs else "" for who in names
    }


def _log_figures(rows: pd.DataFrame, network: str) -> None:
    import matplotlib.pyplot as plt
    import mlflow

    from market_predictor.plots import forecast_figure, residuals_figure

    if rows.empty:
        return
    title = f"{NETWORK_DISPLAY_NAMES.get(network, network)} on the validation window"
    for make, filename in (
        (forecast_figure, "validation_forecasts.png"),
        (residuals_figure, "residuals.png"),
    ):
        figure = make(rows, title=title)
        mlflow.log_figure(figure, f"plots/{filename}")
        plt.close(figure)

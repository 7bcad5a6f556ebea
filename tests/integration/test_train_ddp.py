"""`mpp train` with DDP on two CPU processes (gloo), for real: Lightning's launcher
re-runs the command for the second process, both fit, and only the first writes and
reports. Compared with the single-process fit on the same data and config."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from market_predictor.config import Settings
from market_predictor.store import FeatureStore
from tests.fixtures.ml import sample_prices, store_prices

MPP = str(Path(sys.executable).with_name("mpp"))
TRAINING = "model: lstm\nwindow: 10\nhidden_size: 8\nmax_epochs: 4\nbatch_size: 64\n"
DDP_ON_TWO_CPUS = {
    "MPP_TRAINING_ACCELERATOR": "cpu",
    "MPP_TRAINING_STRATEGY": "ddp",
    "MPP_TRAINING_DEVICES": "2",
    # gloo on the loopback interface: nothing leaves 127.0.0.1.
    "GLOO_SOCKET_IFNAME": "lo",
    "MASTER_ADDR": "127.0.0.1",
}


def _home(root: Path, migrated_mlflow: Path) -> Settings:
    """AAPL and MSFT, 2011-2012, in a home of its own with an empty MLflow."""
    settings = Settings(home=root)
    root.mkdir(parents=True)
    shutil.copy(migrated_mlflow, root / "mlflow.db")
    store_prices(settings, sample_prices())
    return settings


def _train(settings: Settings, config: Path, **environment: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "MPP_HOME": str(settings.resolved_home),
        "MPP_TRAINING_CONFIG": str(config),
        "MPP_TRAINING_ACCELERATOR": "cpu",
        **environment,
    }
    done = subprocess.run(
        [MPP, "train", "--json"], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # all of stdout is one JSON document


def _served(result: dict[str, Any]) -> tuple[bool, str | None, bool]:
    return result["became_champion"], result["champion_version"], result["is_baseline"]


def _outcome(decision: str | None) -> str | None:
    """A version's gate tag without the rejection's wording (see the test)."""
    return "rejected" if decision and decision.startswith("rejected_vs_") else decision


def _written(settings: Settings) -> dict[str, Any]:
    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return {
        "runs": len(client.search_runs(experiments)),
        "versions": sorted(
            (v.version, _outcome(v.tags.get("gate_decision")))
            for v in client.search_model_versions("name='market-price-predictor'")
        ),
        "datasets": len(FeatureStore.from_settings(settings).datasets.list()),
    }


@pytest.mark.slow  # two trainings, one of them on two processes: about a minute
def test_ddp_on_two_cpu_processes_matches_one_process_and_only_the_first_writes(
    tmp_path: Path, _migrated_mlflow_db: Path
) -> None:
    config = tmp_path / "train.yaml"
    config.write_text(TRAINING)
    alone_home = _home(tmp_path / "alone", _migrated_mlflow_db)
    ddp_home = _home(tmp_path / "ddp", _migrated_mlflow_db)

    alone = _train(alone_home, config)
    ddp = _train(ddp_home, config, **DDP_ON_TWO_CPUS)

    # The same gate outcome: the network promoted or not, and the same version serving.
    # Not the rejection's wording: when the network ties persistence to a few parts in
    # a hundred thousand, which rival it failed to beat first is a coin toss.
    assert _served(ddp) == _served(alone)
    network, single = ddp["metrics"]["model"]["pinball"], alone["metrics"]["model"]["pinball"]
    assert abs(network / single - 1) < 0.01  # issue 21's target: within 1%
    assert ddp["epochs_trained"] >= 1
    uri = ddp_home.resolved_tracking_uri
    params = MlflowClient(tracking_uri=uri).get_run(ddp["run_id"]).data.params
    assert (params["strategy"], params["devices"], params["accelerator"]) == ("ddp", "2", "cpu")
    # The second process registered, logged and stored nothing: the same versions, runs
    # and dataset as the single process, the network's version once.
    assert _written(ddp_home) == _written(alone_home)
    assert _written(ddp_home)["datasets"] == 1

"""A `mpp train` killed mid-run leaves no debris behind its rerun: the rerun reuses the
training dataset the killed run materialised, and marks the run it left RUNNING as
KILLED once that run is older than a run can last (MPP_STALE_RUN_HOURS)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from market_predictor.config import Settings
from market_predictor.store import FeatureStore
from market_predictor.training.config import TrainConfig, save_train_config

MPP = str(Path(sys.executable).with_name("mpp"))


def _running_runs(database: Path) -> list[str]:
    if not database.exists():
        return []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.1) as connection:
            rows = connection.execute("SELECT run_uuid FROM runs WHERE status = 'RUNNING'")
            return [run_id for (run_id,) in rows]
    except sqlite3.OperationalError:  # schema not there yet, or a writer holds the lock
        return []


@pytest.mark.slow  # two cold `mpp train` processes
def test_a_rerun_after_a_killed_train_reuses_its_dataset_and_closes_its_run(
    real_store: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "train.yaml"
    save_train_config(TrainConfig(hidden_size=8, window=10, max_epochs=3), config)
    env = {
        **os.environ,
        "MPP_TRAINING_CONFIG": str(config),
        "MPP_STALE_RUN_HOURS": "0.0003",  # about a second: the killed run is stale at once
    }
    database = real_store.resolved_home / "mlflow.db"
    command = [MPP, "train", "--symbols", "AAPL", "--no-promote", "--json"]

    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not _running_runs(database):
        assert process.poll() is None, "train finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    (killed,) = _running_runs(database)
    datasets = FeatureStore.from_settings(real_store).datasets
    assert [d.version for d in datasets.list()] == [1]

    time.sleep(1.5)  # past MPP_STALE_RUN_HOURS
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr

    assert [d.version for d in datasets.list()] == [1]
    assert _running_runs(database) == []
    with sqlite3.connect(database) as connection:
        (status,) = connection.execute(
            "SELECT status FROM runs WHERE run_uuid = ?", (killed,)
        ).fetchone()
    assert status == "KILLED"

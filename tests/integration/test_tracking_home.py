"""The MLflow side of a home: many processes opening a fresh one at once, a home that
is moved or copied, and runs left RUNNING by a killed process."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from market_predictor.config import Settings
from market_predictor.registry import register_baseline
from market_predictor.tracking import configure_tracking, ensure_experiment
from tests.fixtures.ops import OPS_SYMBOLS, TRAINED_UNTIL

MPP = str(Path(sys.executable).with_name("mpp"))
PROCESSES = 4
ROUNDS = 3

# Each worker imports everything first, says so, then waits for the start signal of
# each round, so that the processes open the fresh home within milliseconds.
_WORKER = """
import sys, time
from pathlib import Path
from market_predictor.config import Settings
from market_predictor.tracking import configure_tracking, ensure_experiment
root, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(root / f"ready-{me}").touch()
for n in range(rounds):
    while not (root / f"go-{n}").exists():
        time.sleep(0.001)
    settings = Settings(home=root / f"home-{n}")
    client = configure_tracking(settings)
    ensure_experiment(client, settings)
    client.search_registered_models()
    print(f"round {n} ok", flush=True)
    (root / f"done-{n}-{me}").touch()
"""


def _env(home: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MPP_")},
        "MPP_HOME": str(home),
        "MPP_SOURCE": "sample",
        "MPP_SYMBOLS": ",".join(OPS_SYMBOLS),
    }


def _mpp(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MPP, *args], env=_env(home), capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # four cold MLflow imports and three schema creations: about a minute
def test_processes_opening_a_fresh_home_at_once_leave_a_working_database(
    tmp_path: Path,
) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path), str(i), str(ROUNDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    _wait_for(tmp_path, "ready-*", workers)
    for n in range(ROUNDS):
        (tmp_path / f"go-{n}").touch()
        _wait_for(tmp_path, f"done-{n}-*", workers)  # rounds do not overlap
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert out.splitlines() == [f"round {n} ok" for n in range(ROUNDS)], err

    # A normal command afterwards: a registration, then `mpp models list` sees it.
    for n in range(ROUNDS):
        settings = Settings(home=tmp_path / f"home-{n}")
        client = MlflowClient(tracking_uri=settings.resolved_tracking_uri)
        assert len(client.search_experiments()) == 2  # Default and ours, once each
    home = tmp_path / f"home-{ROUNDS - 1}"
    register_baseline(Settings(home=home), trained_until=TRAINED_UNTIL)
    listed = _mpp(home, "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [v["version"] for v in json.loads(listed.stdout)["versions"]] == ["1"]


def _wait_for(root: Path, pattern: str, workers: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 240
    while len(list(root.glob(pattern))) < len(workers):
        assert time.monotonic() < deadline, f"workers never reached {pattern}"
        if any(w.poll() is not None for w in workers):
            break  # one died: its output says why, below
        time.sleep(0.01)


def test_read_only_commands_on_a_fresh_home_at_once_create_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    commands = [("models", "list"), ("models", "show"), ("models", "list"), ("predict",)]
    runs = [
        subprocess.Popen(
            [MPP, *command], env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for command in commands
    ]
    for run in runs:
        run.communicate(timeout=300)
        assert run.returncode == 2
    assert not home.exists()


@pytest.fixture
def template_home(ops_template: Path, tmp_path: Path) -> Path:
    home = tmp_path / "original" / "home"
    home.parent.mkdir()
    subprocess.run(["cp", "-a", str(ops_template), str(home)], check=True)
    return home


def _predict(home: Path) -> dict[str, object]:
    result = _mpp(home, "predict", "--as-of", TRAINED_UNTIL.isoformat(), "--json")
    assert result.returncode == 0, result.stderr
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def test_a_moved_home_predicts_with_its_champion(template_home: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "home"
    moved.parent.mkdir()
    subprocess.run(["mv", str(template_home), str(moved)], check=True)
    assert not template_home.exists()

    summary = _predict(moved)
    assert summary["model_version"] == "1"
    assert len(summary["predictions"]) == len(OPS_SYMBOLS)  # type: ignore[arg-type]
    shown = _mpp(moved, "models", "show", "--json")
    assert shown.returncode == 0, shown.stderr


def test_a_copied_home_keeps_its_artifacts_to_itself(template_home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(template_home), str(copy)], check=True)
    original_files = sorted(p.relative_to(template_home) for p in template_home.rglob("*"))

    # A registration (a run with a logged model) in the copy lands in the copy.
    register_baseline(Settings(home=copy), trained_until=TRAINED_UNTIL, promote=True)
    inside = copy.resolve().as_uri() + "/"
    with sqlite3.connect(copy / "mlflow.db") as connection:
        locations = [
            location
            for query in (
                "SELECT artifact_uri FROM runs",
                "SELECT storage_location FROM model_versions",
                "SELECT artifact_location FROM logged_models",
            )
            for (location,) in connection.execute(query)
        ]
    assert len(locations) == 6  # two runs, two versions, two logged models
    assert all(location.startswith(inside) for location in locations), locations
    after = sorted(p.relative_to(template_home) for p in template_home.rglob("*"))
    assert after == original_files

    # And the copy works on its own once the original is gone.
    shutil.rmtree(template_home)
    assert _predict(copy)["model_version"] == "2"


def test_a_training_run_left_running_longer_than_a_run_can_last_is_marked_killed(
    mlflow_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    hours = 2.0
    monkeypatch.setenv("MPP_STALE_RUN_HOURS", str(hours))
    settings = Settings(home=mlflow_home.home)
    client = configure_tracking(settings)
    experiment_id = ensure_experiment(client, settings)
    now_ms = int(time.time() * 1000)
    margin_ms = 60_000
    stale = client.create_run(experiment_id, start_time=now_ms - int(hours * 3.6e6) - margin_ms)
    alive = client.create_run(experiment_id, start_time=now_ms - int(hours * 3.6e6) + margin_ms)

    ensure_experiment(client, settings)  # what every training or tuning run does first

    assert client.get_run(stale.info.run_id).info.status == "KILLED"
    assert client.get_run(alive.info.run_id).info.status == "RUNNING"

"""`mpp airflow standalone` for real: the scheduler, DAG processor and API server on
127.0.0.1 pick up ml_pipeline, a run triggered from the CLI reaches `success` and its
rows land in the store; Ctrl-C stops every process Airflow started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psutil
import pytest

from market_predictor.config import Settings
from market_predictor.store import FeatureStore

# Migrates a fresh Airflow and runs all its components: minutes on a busy 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

LOGICAL_DATE = "2012-12-03T22:30:00+00:00"  # after Monday's close
RUN_ID = "scheduler_test_monday"
MPP = "from market_predictor.cli import main; main()"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], object], what: str, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def healthy(port: int) -> bool:
    url = f"http://127.0.0.1:{port}/api/v2/monitor/health"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def query(database: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []


def group_members(group: int) -> list[int]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group:
                members.append(process.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def test_standalone_runs_a_triggered_day_to_success_and_ctrl_c_stops_it(
    ops_home: Settings, tmp_path: Path
) -> None:
    port = free_port()
    standalone: list[int] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "MPP_HOME": str(ops_home.resolved_home),
            # Unpausing makes the scheduler run the schedule's latest past tick too; on
            # Christmas Day the exchange is always closed, so that run does nothing.
            "MPP_SCHEDULE": "30 22 25 12 *",
            # Airflow's log servers default to fixed ports; other runs may hold them.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
    )
    airflow_home = ops_home.resolved_home / "airflow"
    database = airflow_home / "airflow.db"
    cli_env = {**env, "AIRFLOW_HOME": str(airflow_home)}
    log = (tmp_path / "standalone.log").open("wb")
    mpp = subprocess.Popen(
        [sys.executable, "-c", MPP, "airflow", "standalone", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_as_from_a_terminal,
    )

    def airflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    try:
        wait_for(
            lambda: query(database, "SELECT 1 FROM dag WHERE dag_id = 'ml_pipeline'"),
            "the DAG processor to load ml_pipeline",
            timeout=600,
        )
        # Tasks report to the API server: start them only once it answers.
        wait_for(lambda: healthy(port), "the API server", timeout=600)
        assert airflow("dags", "unpause", "ml_pipeline").returncode == 0
        triggered = airflow(
            "dags", "trigger", "ml_pipeline", "--run-id", RUN_ID, "--logical-date", LOGICAL_DATE
        )
        assert triggered.returncode == 0, triggered.stderr
        state = wait_for(
            lambda: next(
                (
                    s
                    for (s,) in query(
                        database, "SELECT state FROM dag_run WHERE run_id = ?", RUN_ID
                    )
                    if s in ("success", "failed")
                ),
                None,
            ),
            "the triggered run to finish",
            timeout=600,
        )
        assert state == "success", log_tail(tmp_path / "standalone.log")
        predictions = FeatureStore.from_settings(ops_home).predictions.read()
        assert sorted(predictions["symbol"]) == ["AAPL", "MSFT"]
        assert set(predictions["as_of_date"]) == {pd.Timestamp("2012-12-03")}
        output = (tmp_path / "standalone.log").read_text(errors="replace")
        assert f"http://127.0.0.1:{port}" in output
        assert "simple_auth_manager_passwords.json.generated" in output
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            standalone = [child.pid for child in psutil.Process(mpp.pid).children()]
        mpp.send_signal(signal.SIGINT)
        code = mpp.wait(timeout=120)
        log.close()

    assert code == 0
    for group in standalone:
        assert group_members(group) == [], "Airflow processes outlived Ctrl-C"


def _as_from_a_terminal() -> None:
    # An ignored SIGINT is inherited across exec, and Python then never raises
    # KeyboardInterrupt; this worker may have inherited one (a background CI job, a
    # library that ignores it), while a user's Ctrl-C comes from a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def log_tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

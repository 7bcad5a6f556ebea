"""`mpp airflow test`: one dag.test() run on an Airflow home under MPP_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from market_predictor.config import Settings
from market_predictor.store import FeatureStore

MPP = "from market_predictor.cli import main; main()"


def mpp(*args: str) -> subprocess.CompletedProcess[str]:
    # Without the session's AIRFLOW_* settings: the command makes its own home.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return subprocess.run(
        [sys.executable, "-c", MPP, *args], env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.parametrize(
    ("date", "message"),
    [("2012-13-01", "malformed --date date"), ("2999-01-04", "--date 2999-01-04 is in the future")],
)
def test_a_bad_date_is_refused_in_one_line_before_airflow_starts(
    settings: Settings, date: str, message: str
) -> None:
    result = mpp("airflow", "test", "--date", date)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (settings.resolved_home / "airflow").exists()


@pytest.mark.slow  # migrates a fresh Airflow home, then runs the DAG
def test_airflow_test_runs_the_day_on_a_home_under_mpp_home(ops_home: Settings) -> None:
    result = mpp("airflow", "test", "--date", "2012-12-03", "--json")

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["state"] == "success"
    assert report["tasks"]["predict"] == "success"
    assert (ops_home.resolved_home / "airflow" / "airflow.db").is_file()
    predictions = FeatureStore.from_settings(ops_home).predictions.read()
    assert sorted(predictions["symbol"]) == ["AAPL", "MSFT"]


def test_a_metadata_database_airflow_cannot_open_fails_naming_airflows_reason(
    settings: Settings,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", MPP, "airflow", "test", "--date", "2012-12-03"],
        env={k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        | {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://airflow@127.0.0.1/none"},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "failed: MPPError: airflow db migrate failed: "
        "ModuleNotFoundError: No module named 'psycopg2'"
    )

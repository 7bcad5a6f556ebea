"""One migrated Airflow home (SQLite metadata) per test session.

`airflow db migrate` takes tens of seconds, so it runs once; Airflow reads its home
when first imported, so the environment is set before any test imports it. Each test
keeps its own MPP_HOME (store, MLflow), and its Variables in AIRFLOW_VAR_* environment
variables, so no test sees another's state; `dag.test()` clears the task instances of a
logical date before running it again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from market_predictor.orchestration import dags

DAGS_FOLDER = Path(dags.__file__).parent


def airflow_environment(home: Path) -> dict[str, str]:
    """What a test Airflow needs: its home, our DAG folder, no examples, SQLite."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "airflow" in sys.modules:
        pytest.fail("airflow was imported before its test home was set")
    home = tmp_path_factory.mktemp("airflow-home")
    os.environ.update(airflow_environment(home))
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return home

"""The local Airflow that `mpp airflow` runs: its home under MPP_HOME and its settings.

Airflow reads its configuration from `AIRFLOW__SECTION__KEY` environment variables when
it is first imported, so everything here is an environment for a child process (or for
this process before it imports Airflow).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from market_predictor.config import Settings

DAGS_FOLDER = Path(__file__).parent / "dags"
DEFAULT_PORT = 8080
HOST = "127.0.0.1"

# A 2-core machine: two task slots, one parsing process, one API worker.
_SMALL_MACHINE = {
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    "AIRFLOW__CORE__PARALLELISM": "2",
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "2",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    "AIRFLOW__API__WORKERS": "1",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
}


def airflow_home(settings: Settings) -> Path:
    return settings.resolved_home / "airflow"


def airflow_environment(
    settings: Settings,
    port: int = DEFAULT_PORT,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """`base` (default: this process's environment) with Airflow's home under MPP_HOME,
    its DAG folder on the package, and the API server on 127.0.0.1:`port`. A setting
    already in `base` wins over the small-machine defaults; the home, the DAG folder and
    MPP_HOME are always set, so the scheduler's tasks use the same store as `mpp`."""
    env = dict(os.environ if base is None else base)
    home = airflow_home(settings)
    defaults = {
        **_SMALL_MACHINE,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    for name, value in defaults.items():
        env.setdefault(name, value)
    _async_metadata_driver(env)
    url = f"http://{HOST}:{port}"
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(port),
            # Task processes report to the API server: it must be this one.
            "AIRFLOW__API__BASE_URL": url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "MPP_HOME": str(settings.resolved_home),
            # `airflow standalone` starts its components as `airflow ...` found on PATH:
            # this interpreter's scripts come first, whether or not the venv is activated.
            "PATH": os.pathsep.join(
                [str(Path(sys.executable).parent), *filter(None, [env.get("PATH")])]
            ),
        }
    )
    return env


def _async_metadata_driver(env: dict[str, str]) -> None:
    """Airflow also opens its metadata database asynchronously, and for a PostgreSQL URL
    it derives an asyncpg one, a driver the package does not install: without this,
    Airflow fails on import with "No module named 'asyncpg'". psycopg 3, which the
    `postgres` extra installs, is async too under the same URL."""
    sync = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if sync.startswith("postgresql+psycopg://"):
        env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", sync)


def password_file(env: Mapping[str, str]) -> Path:
    """Where `airflow standalone` writes the generated admin password."""
    return Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"

"""A real API for the dashboard's tests: a home filled by the pipeline (a short replay of
the sample prices), served by `mpp serve` on a free 127.0.0.1 port, both once per session.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from market_predictor.config import Settings
from tests.fixtures.ops import OPS_SYMBOLS

# The ops template's champion is trained until 2012-11-30; the replay forecasts December.
REPLAY_START = dt.date(2012, 12, 3)
REPLAY_END = dt.date(2012, 12, 14)
NEXT_TRADING_DAY = dt.date(2012, 12, 17)
API_TOKEN = "dashboard-test-token"


@dataclass(frozen=True)
class ServedApi:
    url: str
    token: str
    home: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_environment(**extra: str) -> dict[str, str]:
    """This process's environment without MPP_/MLFLOW_ settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "MLFLOW_"))}
    return {**env, **extra}


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url} exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} not ready within {timeout} s")


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a child started with start_new_session=True, and what it spawned."""
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def replayed_home(ops_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ops history and champion, then the daily job replayed over two weeks of December 2012."""
    from market_predictor.pipeline import replay

    home = tmp_path_factory.mktemp("dashboard") / "home"
    shutil.copytree(ops_template, home)
    settings = Settings(home=home, source="sample", symbols=list(OPS_SYMBOLS))
    report = replay(settings, start=REPLAY_START, end=REPLAY_END, source="sample", retrain=False)
    assert report.failed_step is None, report.error
    return home


@contextmanager
def serve(home: Path) -> Iterator[ServedApi]:
    """`mpp serve` on `home`, requiring API_TOKEN, until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "market_predictor.cli", "serve", "--port", str(port)],
        env=child_environment(MPP_HOME=str(home), MPP_API_KEY=API_TOKEN),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{url}/api/v1/health", process)
        yield ServedApi(url, API_TOKEN, home)
    finally:
        stop_group(process)


@pytest.fixture(scope="session")
def served_api(replayed_home: Path) -> Iterator[ServedApi]:
    with serve(replayed_home) as api:
        yield api


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory, _migrated_mlflow_db: Path) -> Path:
    """A home whose champion came out of `mpp train` (so its card has a validation run
    with every contestant's metrics and interval backtests)."""
    from market_predictor.training import train
    from tests.fixtures.ml import FAST_TRAINING, store_prices, synthetic_prices

    home = tmp_path_factory.mktemp("trained") / "home"
    home.mkdir(parents=True)
    shutil.copy(_migrated_mlflow_db, home / "mlflow.db")
    settings = Settings(home=home)
    store_prices(settings, synthetic_prices())
    train(settings, config_overrides={**FAST_TRAINING, "max_epochs": 1})
    return home


@pytest.fixture(scope="session")
def trained_api(trained_home: Path) -> Iterator[ServedApi]:
    with serve(trained_home) as api:
        yield api


@pytest.fixture
def trained_dashboard_env(trained_api: ServedApi, monkeypatch: pytest.MonkeyPatch) -> ServedApi:
    """The dashboard's environment pointing at the API of a trained champion."""
    return point_dashboard_at(trained_api, monkeypatch)


@pytest.fixture(scope="session")
def horizon_api(horizon_home: Path) -> Iterator[ServedApi]:
    """The API on the multi-horizon store (tests.fixtures.horizons)."""
    with serve(horizon_home) as api:
        yield api


def point_dashboard_at(api: ServedApi, monkeypatch: pytest.MonkeyPatch) -> ServedApi:
    monkeypatch.setenv("MPP_API_URL", api.url)
    monkeypatch.setenv("MPP_API_KEY", api.token)
    return api


@pytest.fixture
def dashboard_env(served_api: ServedApi, monkeypatch: pytest.MonkeyPatch) -> ServedApi:
    """The dashboard's environment pointing at the served API with the right token."""
    return point_dashboard_at(served_api, monkeypatch)


@pytest.fixture
def horizon_dashboard_env(horizon_api: ServedApi, monkeypatch: pytest.MonkeyPatch) -> ServedApi:
    """The dashboard's environment pointing at the multi-horizon API."""
    return point_dashboard_at(horizon_api, monkeypatch)


def api_json(api: ServedApi, path: str, **params: str) -> dict:  # type: ignore[type-arg]
    """What the API itself answers, to compare the dashboard against."""
    response = httpx.get(
        f"{api.url}/api/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {api.token}"},
        trust_env=False,
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]

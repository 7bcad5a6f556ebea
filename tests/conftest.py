"""Shared fixtures: every test gets its own MPP_HOME, and nothing leaves 127.0.0.1."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from market_predictor.config import Settings, get_settings

# Fixtures of each area live in their own module; they are plugins so every test sees them.
pytest_plugins = [
    "tests.fixtures.data",
    "tests.fixtures.ml",
    "tests.fixtures.ops",
    "tests.fixtures.api",
    "tests.fixtures.horizons",
    "tests.fixtures.services",
]


# yfinance picks its HTTP backend when it is first imported: plain `requests` (which the
# Yahoo replay intercepts at the transport) rather than curl_cffi's native client, which
# nothing in a test could intercept. Set before any test module imports yfinance.
os.environ["YF_DISABLE_CURL_CFFI"] = "1"

# Most tests pin one behaviour of the next-day system against its three original
# rivals; three horizons and six rivals would triple what each training costs and change
# no outcome they test. The tests of horizons and of the rival family (and the demo) set
# the defaults back with the `every_horizon_and_rival` fixture. Set here too, for the
# session fixtures, which are built before any test's environment.
NEXT_DAY_SYSTEM = {"MPP_HORIZONS": "1", "MPP_RIVALS": "persistence,drift,garch"}
os.environ.update(NEXT_DAY_SYSTEM)

_real_connect = socket.socket.connect


def _loopback_only_connect(sock: socket.socket, address: object) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = str(address[0])
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        if not loopback:
            raise OSError(f"a test tried to reach {host}: tests talk to 127.0.0.1 only")
    _real_connect(sock, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only_connect)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("MPP_") or name.startswith("MLFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MPP_HOME", str(tmp_path / "mpp-home"))
    for name, value in NEXT_DAY_SYSTEM.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def every_horizon_and_rival(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped defaults: horizons 1, 5 and 21 and every rival."""
    monkeypatch.delenv("MPP_HORIZONS")
    monkeypatch.delenv("MPP_RIVALS")
    get_settings.cache_clear()


@pytest.fixture
def settings() -> Settings:
    return get_settings()

"""Start the dashboard (and, for `mpp up`, the API) as child processes and supervise them.

Each child runs in its own process group, so stopping it also stops what it spawned
(uvicorn and Streamlit workers) and nothing else; Ctrl-C stops every child we started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from market_predictor.errors import InputError, MPPError

APP = Path(__file__).with_name("app.py")
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]
    health_url: str  # answers 200 once the service is ready
    url: str  # what a person opens


def dashboard_service(api_url: str, host: str, port: int) -> Service:
    argv = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip
    base = f"http://{_display_host(host)}:{port}"
    return Service("dashboard", argv, f"{base}/_stcore/health", base)


def api_service(host: str, port: int) -> Service:
    argv = [sys.executable, "-m", "market_predictor.cli", "serve", "--host", host]
    argv += ["--port", str(port)]
    base = f"http://{_display_host(host)}:{port}"
    return Service("API", argv, f"{base}/api/v1/health", f"{base}/api/v1/docs")


def check_port_free(host: str, port: int, option: str) -> None:
    """Bad input before anything starts: a port another process already listens on."""
    if not 0 < port < 65536:
        raise InputError(f"{option} {port} is not a TCP port (1-65535)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise InputError(
                f"port {port} on {host} is in use: choose another with {option}"
            ) from None


def run_services(
    services: Sequence[Service],
    env: Mapping[str, str],
    announce: Callable[[Service], None],
    ready_timeout: float = 120.0,
) -> None:
    """Start `services` in order (each ready before the next starts), announce each,
    then wait until one exits (an MPPError) or Ctrl-C; stop every child on the way out."""
    started: list[tuple[Service, subprocess.Popen[bytes]]] = []
    _interrupt_on_signals()
    try:
        for service in services:
            process = subprocess.Popen(service.argv, env=dict(env), start_new_session=True)
            started.append((service, process))
            _wait_ready(service, process, ready_timeout)
            announce(service)
        while True:
            for service, process in started:
                if process.poll() is not None:
                    raise MPPError(f"the {service.name} stopped (exit {process.returncode})")
            time.sleep(0.5)
    except KeyboardInterrupt:
        return
    finally:
        for _, process in reversed(started):
            stop(process)


def _interrupt_on_signals() -> None:
    """Ctrl-C and `kill` both stop the services: SIGTERM becomes KeyboardInterrupt, and
    SIGINT is restored when a non-interactive shell started us with it ignored."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, SIGKILL it after a grace period."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_ready(service: Service, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MPPError(f"the {service.name} exited during startup (exit {process.returncode})")
        try:
            answer = httpx.get(service.health_url, timeout=2.0, trust_env=False)
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise MPPError(f"the {service.name} did not become ready within {timeout:.0f} s")


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host

"""`mpp serve`: a real uvicorn process on 127.0.0.1 answers the routes, with auth, and
its access log is JSON without the token."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from market_predictor.config import Settings

MPP = str(Path(sys.executable).with_name("mpp"))
KEY = "serve-key-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mpp serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("mpp serve did not answer within the timeout")


def test_mpp_serve_answers_on_loopback_with_auth_and_json_access_logs(
    api_home: Settings, tmp_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    env = {**os.environ, "MPP_API_KEY": KEY}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [MPP, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(base, process)
        auth = {"Authorization": f"Bearer {KEY}"}
        assert httpx.get(f"{base}/api/v1/symbols").status_code == 401
        latest = httpx.get(f"{base}/api/v1/predictions/AAPL/latest", headers=auth)
        assert latest.status_code == 200
        assert latest.json()["forecast"]["target_date"] == "2012-12-24"
        legacy = httpx.get(f"{base}/api/v1/predictions/MSFT/2012/12", headers=auth)
        assert set(legacy.json()) == {"datetime", "prediction"}
        docs = httpx.get(f"{base}/api/v1/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    output = log_path.read_text()
    assert KEY not in output
    access = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert {"route": "/api/v1/predictions/{symbol}/latest", "status": 200} in [
        {"route": a["route"], "status": a["status"]} for a in access
    ]
    assert {"route": "/api/v1/symbols", "status": 401} in [
        {"route": a["route"], "status": a["status"]} for a in access
    ]

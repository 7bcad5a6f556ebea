"""`mpp serve`: a real uvicorn process on 127.0.0.1 answers the routes, with auth, and
its access log is JSON without the token."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx

from market_predictor.config import Settings
from tests.fixtures.services import start_mpp_serve

KEY = "serve-key-0123456789abcdef"


def test_mpp_serve_answers_on_loopback_with_auth_and_json_access_logs(
    api_home: Settings, tmp_path: Path
) -> None:
    log_path = tmp_path / "serve.log"
    process, api = start_mpp_serve({**os.environ, "MPP_API_KEY": KEY}, log_path, timeout=60)
    base = api.removesuffix("/api/v1")
    try:
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

"""`mpp dashboard` and `mpp up`: bad input refused before anything starts, and `mpp up`
serving the API and the dashboard until Ctrl-C stops both."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from tests.integration.dashboard.conftest import ServedApi, child_environment, free_port


def test_mpp_help_imports_no_service_stack() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from market_predictor.cli import app; "
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
        "print(sorted({'streamlit', 'fastapi', 'torch', 'mlflow', 'plotly'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dashboard", "--api-url", "127.0.0.1:8001"], "must start with http://"),
        (["dashboard", "--port", "70000"], "is not a TCP port"),
        (["up", "--api-port", "8123", "--port", "8123"], "pick two ports"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_port_already_in_use_is_refused_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["up", "--port", str(port), "--api-port", str(free_port())]
        )
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.output


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_mpp_up_serves_both_until_ctrl_c_or_kill_stops_both(
    served_api: ServedApi, stop_signal: signal.Signals
) -> None:
    api_port, dashboard_port = free_port(), free_port()
    ports = ["--api-port", str(api_port), "--port", str(dashboard_port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "market_predictor.cli", "up", *ports],
        env=child_environment(MPP_HOME=str(served_api.home), MPP_API_KEY=served_api.token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        printed = []
        deadline = time.monotonic() + 180
        assert process.stdout is not None
        while time.monotonic() < deadline and not any("Ctrl-C" in line for line in printed):
            line = process.stdout.readline()
            assert line, f"mpp up ended early: {process.wait()} {process.stderr.read()}"  # type: ignore[union-attr]
            printed.append(line)
        output = "".join(printed)
        assert f"http://127.0.0.1:{api_port}/api/v1/docs" in output
        assert f"http://127.0.0.1:{dashboard_port}" in output
        assert str(served_api.home) in output
        overview = httpx.get(
            f"http://127.0.0.1:{api_port}/api/v1/overview",
            headers={"Authorization": f"Bearer {served_api.token}"},
            trust_env=False,
        )
        assert [row["symbol"] for row in overview.json()["symbols"]] == ["AAPL", "MSFT"]
        page = httpx.get(f"http://127.0.0.1:{dashboard_port}/", trust_env=False)
        assert page.status_code == 200

        process.send_signal(stop_signal)  # SIGINT is what Ctrl-C sends
        assert process.wait(timeout=60) == 0
        assert _refused(api_port) and _refused(dashboard_port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

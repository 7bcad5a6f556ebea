"""`mpp serve`: bad options exit 2, and the CLI stays light (FastAPI, torch and MLflow
are imported only when a command needs them)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from market_predictor.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--workers", "0"], "--workers"), (["--port", "70000"], "--port")],
)
def test_bad_serve_options_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["serve", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_mpp_help_and_the_package_import_no_service_stack() -> None:
    code = (
        "import sys, market_predictor, market_predictor.cli\n"
        "from typer.testing import CliRunner\n"
        "assert CliRunner().invoke(market_predictor.cli.app, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('fastapi', 'torch', 'mlflow', 'uvicorn') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"

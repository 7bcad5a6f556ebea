"""`mpp serve`: bad options exit 2 with one line (test_import_cost checks that the CLI
imports FastAPI only when the command runs)."""

from __future__ import annotations

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

"""Entry points stay cheap: `mpp --help`, the package and the typed results import none of
the heavy stacks (torch, MLflow, the service frameworks), which load only when a command
that needs them runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "lightning", "mlflow", "fastapi", "uvicorn", "streamlit", "airflow")

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))
"""


def _heavy_modules_after(body: str) -> list[str]:
    code = _PROBE.format(body=body, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "module",
    ["market_predictor", "market_predictor.cli", "market_predictor.results"],
)
def test_importing_an_entry_module_loads_no_heavy_stack(module: str) -> None:
    assert _heavy_modules_after(f"import {module}") == []


def test_mpp_help_loads_no_heavy_stack() -> None:
    body = (
        "from typer.testing import CliRunner\n"
        "from market_predictor.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'daily' in result.output\n"
    )
    assert _heavy_modules_after(body) == []

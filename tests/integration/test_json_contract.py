"""`--json` output is the typed result's JSON: each command's stdout validates against the
JSON schema of its pydantic model (what the API and Airflow's XComs rely on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings, get_settings
from market_predictor.results import DailyReport, IngestResult, ReplayReport, TrainResult

runner = CliRunner()

TINY_TRAINING = "model: mlp\nwindow: 5\nhidden_size: 4\nmax_epochs: 1\nvalidation_months: 1\n"


def _json_of(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _assert_matches(payload: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(mode="serialization")
    jsonschema.validate(payload, schema)
    # Every field the schema declares is printed (nothing silently dropped or renamed).
    assert set(payload) == set(schema["properties"])
    model.model_validate(payload)


def test_ingest_json_is_an_ingest_result(ops_home: Settings) -> None:
    payload = _json_of(["ingest", "--as-of", "2012-12-03"])
    _assert_matches(payload, IngestResult)
    assert payload["inserted"] == 2


def test_daily_json_is_a_daily_report(ops_home: Settings) -> None:
    payload = _json_of(["daily", "--as-of", "2012-12-03"])
    _assert_matches(payload, DailyReport)
    assert payload["steps"]["predict"]["target_date"] == "2012-12-04"


def test_replay_json_is_a_replay_report(ops_home: Settings) -> None:
    payload = _json_of(["replay", "--start", "2012-12-03", "--end", "2012-12-04"])
    _assert_matches(payload, ReplayReport)
    assert [day["as_of"] for day in payload["days"]] == ["2012-12-03", "2012-12-04"]


def test_train_json_is_a_train_result(
    ops_home: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_TRAINING)
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(config))
    get_settings.cache_clear()
    payload = _json_of(["train", "--end", "2012-11-30"])
    _assert_matches(payload, TrainResult)
    assert payload["metrics"]["persistence"]["n"] > 0

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings, get_settings
from market_predictor.pipeline import run_daily
from market_predictor.registry import list_versions
from market_predictor.results import DailySteps
from market_predictor.store import FeatureStore

D = dt.date
runner = CliRunner()

TINY_TRAINING = """
model: mlp
window: 5
hidden_size: 4
max_epochs: 1
batch_size: 64
validation_months: 1
"""


def _tables(settings: Settings) -> dict[str, pd.DataFrame]:
    store = FeatureStore.from_settings(settings)
    return {
        "prices": store.prices().read(),
        "predictions": store.predictions.read(),
        "errors": store.errors.read(),
        "summary": store.summary.read(),
    }


def test_daily_job_reports_every_step_and_stores_the_forecasts(ops_home: Settings) -> None:
    result = runner.invoke(app, ["daily", "--as-of", "2012-12-03", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    ran = [name for name, step in report["steps"].items() if step is not None]
    assert ran == ["ingest", "predict", "monitor", "retrain", "compact"]
    assert report["failed_step"] is None
    assert report["steps"]["ingest"]["inserted"] == 2  # Monday's close of both symbols
    assert report["steps"]["predict"]["target_date"] == "2012-12-04"
    assert report["steps"]["predict"]["predicted"] == 2
    assert report["steps"]["retrain"]["status"] in {"not needed", "cooldown"}


def test_rerunning_a_finished_day_changes_no_row(ops_home: Settings) -> None:
    for day in (D(2012, 12, 3), D(2012, 12, 4)):
        run_daily(ops_home, as_of=day)
    before = _tables(ops_home)
    assert len(before["errors"]) == 2
    again = run_daily(ops_home, as_of=D(2012, 12, 4))
    assert again.steps.predict is not None and again.steps.predict.inserted == 0
    assert again.steps.monitor is not None and again.steps.monitor.new_errors == 0
    after = _tables(ops_home)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[name], obj=name)


def test_non_trading_day_does_nothing(ops_home: Settings) -> None:
    report = run_daily(ops_home, as_of=D(2012, 12, 25))
    assert report.steps == DailySteps()
    assert "not a XNYS trading day" in report.message
    assert not FeatureStore.from_settings(ops_home).predictions.exists()


def test_failing_step_stops_the_later_steps_and_exits_1(ops_home: Settings) -> None:
    # A corrupt predictions table: ingest succeeds, predict cannot write, monitor never runs.
    log = Path(ops_home.resolved_store_uri) / "predictions" / "_delta_log"
    log.mkdir(parents=True)
    (log / "00000000000000000000.json").write_text("not a delta log\n")
    result = runner.invoke(app, ["daily", "--as-of", "2012-12-03", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["failed_step"] == "predict"
    assert [name for name, step in report["steps"].items() if step is not None] == ["ingest"]
    assert "predict step failed" in report["message"]
    prices = FeatureStore.from_settings(ops_home).prices().read()
    assert prices["date"].max() == pd.Timestamp("2012-12-03")


def test_drift_triggers_a_retrain_on_data_up_to_the_day_then_the_cooldown_holds(
    ops_home: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_TRAINING)
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(config))
    monkeypatch.setenv("MPP_RETRAIN_PSI_THRESHOLD", "0.0001")  # any drift at all
    monkeypatch.setenv("MPP_RETRAIN_COOLDOWN_DAYS", "1")
    get_settings.cache_clear()
    settings = get_settings()

    # The champion was trained until Friday 30 November: two trading days before.
    first = run_daily(settings, as_of=D(2012, 12, 4))
    assert first.steps.monitor is not None and first.steps.monitor.retrain_recommended
    retrain = first.steps.retrain
    assert retrain is not None and retrain.status == "trained"
    newest = list_versions(settings)[0]
    assert newest["trained_until"] == "2012-12-04"  # no look-ahead past the as-of date

    second = run_daily(settings, as_of=D(2012, 12, 5))
    assert second.steps.retrain is not None and second.steps.retrain.status == "cooldown"
    assert second.steps.retrain.last_retrain == D(2012, 12, 4)
    assert len(list_versions(settings)) == 2

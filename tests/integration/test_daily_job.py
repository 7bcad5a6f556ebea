from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings, get_settings
from market_predictor.pipeline import replay, run_daily
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


def _feed_with_shifted_opens(path: Path, since: dt.date, gap: float) -> Path:
    """The sample's rows of AAPL and MSFT to the end of 2012 as a CSV, with every open
    from `since` on `gap` away from the previous close (a feed or session change)."""
    from market_predictor.sources.sample import load_sample_prices

    prices = load_sample_prices()
    rows = prices[prices["symbol"].isin(["AAPL", "MSFT"]) & (prices["date"] <= "2012-12-31")]
    rows = rows.sort_values(["symbol", "date"]).reset_index(drop=True)
    previous = rows.groupby("symbol")["close"].shift(1)
    shifted = (rows["date"] >= pd.Timestamp(since)).to_numpy()
    rows.loc[shifted, "open"] = previous[shifted] * (1 + gap)
    rows["high"] = rows[["high", "open", "close"]].max(axis=1)
    rows["low"] = rows[["low", "open", "close"]].min(axis=1)
    rows.assign(date=rows["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


def test_shifted_inputs_trigger_a_retrain_on_data_up_to_the_day_then_the_cooldown_holds(
    ops_home: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_TRAINING)
    feed = _feed_with_shifted_opens(tmp_path / "feed.csv", D(2012, 12, 3), gap=0.03)
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(config))
    monkeypatch.setenv("MPP_SOURCE", "csv")
    monkeypatch.setenv("MPP_SOURCE_PATH", str(feed))
    monkeypatch.setenv("MPP_RETRAIN_COOLDOWN_DAYS", "3")
    monkeypatch.setenv("MPP_MAX_MODEL_AGE_DAYS", "200")  # no scheduled refresh here
    get_settings.cache_clear()
    settings = get_settings()

    days = replay(settings, start=D(2012, 12, 3), end=D(2012, 12, 21)).days
    flagged = [day for day in days if day.retrain_recommended]
    assert flagged, "a 3% gap on every open must be detected within the 15 replayed days"
    first = flagged[0]
    assert first.retrain == "trained" and first.retrain_trigger == "triggered"
    assert any("drift:gap_z" in reason for reason in first.reasons.values())
    versions = list_versions(settings)
    newest_first_retrain = [v for v in versions if v["tags"].get("retrain") == "triggered"][-1]
    assert newest_first_retrain["trained_until"] == first.as_of.isoformat()  # no look-ahead
    # Retrains happen only on flagged days, and not within the cooldown of the last one.
    trained = [day for day in days if day.retrain == "trained"]
    assert all(day.retrain_recommended and day.retrain_trigger == "triggered" for day in trained)
    after = days[days.index(first) + 1 : days.index(first) + 4]
    assert all(day.retrain in ("cooldown", "not needed") for day in after)
    summary = FeatureStore.from_settings(settings).summary.read()
    row = summary[(summary["date"] == pd.Timestamp(first.as_of)) & summary["retrain_recommended"]]
    assert not row.empty
    assert row["test"].str.startswith("drift:").all()
    assert (row["test_window"] > 0).all() and row["threshold"].str.startswith("> ").all()


def test_a_stale_champion_is_retrained_on_schedule_only(
    ops_home: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_TRAINING)
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(config))
    monkeypatch.setenv("MPP_MAX_MODEL_AGE_DAYS", "3")
    get_settings.cache_clear()
    settings = get_settings()

    # The champion's data ends Friday 30 November: 4 trading days old on Thursday the 6th.
    days = replay(settings, start=D(2012, 12, 3), end=D(2012, 12, 7)).days
    assert not any(day.retrain_recommended for day in days)
    assert [day.retrain for day in days] == [
        "not needed",
        "not needed",
        "not needed",
        "trained",
        "not needed",
    ]
    assert days[3].retrain_trigger == "scheduled"
    assert "4 trading days old (> 3)" in days[3].reasons["*"]
    assert list_versions(settings)[0]["tags"]["retrain"] == "scheduled"

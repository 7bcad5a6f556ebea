from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings
from market_predictor.ingest import ingest_prices
from market_predictor.store import FeatureStore, predictions, prices
from tests.fixtures.ops import predict_as_of

D = dt.date
runner = CliRunner()
MPP = str(Path(sys.executable).with_name("mpp"))


def test_predict_without_a_champion_exits_2_and_says_to_train(ops_prices: Settings) -> None:
    result = runner.invoke(app, ["predict", "--as-of", "2012-11-30"])
    assert result.exit_code == 2
    assert "no champion registered" in result.stderr
    assert "mpp train" in result.stderr
    assert not FeatureStore.from_settings(ops_prices).predictions.exists()


def test_without_any_training_no_command_creates_an_mlflow_database(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_SOURCE", "sample")
    ingest_prices(
        settings, symbols=["AAPL"], source="sample", start=D(2012, 10, 1), as_of=D(2012, 11, 30)
    )
    before = _table_versions(settings)
    for command in (["predict"], ["daily", "--as-of", "2012-11-30"], ["train", "--symbols", "X"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, command
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (settings.resolved_home / "mlflow.db").exists()
    assert _table_versions(settings) == before
    assert FeatureStore.from_settings(settings).datasets.list() == []


def _table_versions(settings: Settings) -> dict[str, int | None]:
    store = FeatureStore.from_settings(settings)
    tables = {
        "prices": store.prices().table,
        "predictions": store.predictions,
        "errors": store.errors,
        "summary": store.summary,
    }
    return {name: table.version() for name, table in tables.items()}


def _model_versions(settings: Settings) -> int:
    from market_predictor.registry import list_versions

    return len(list_versions(settings))


def test_future_as_of_date_exits_2_and_writes_nothing(ops_home: Settings) -> None:
    before = _table_versions(ops_home), _model_versions(ops_home)
    for command in ("predict", "monitor", "daily"):
        result = runner.invoke(app, [command, "--as-of", "2099-01-02"])
        assert result.exit_code == 2, command
        assert "in the future" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert (_table_versions(ops_home), _model_versions(ops_home)) == before, command


def test_as_of_date_before_any_data_exits_2_and_writes_nothing(ops_home: Settings) -> None:
    before = _table_versions(ops_home)
    result = runner.invoke(app, ["predict", "--as-of", "2001-01-02"])
    assert result.exit_code == 2
    assert "before any stored prices" in result.stderr
    assert _table_versions(ops_home) == before
    assert before["predictions"] is None


def test_stale_symbol_is_skipped_with_its_reason_not_a_crash(ops_home: Settings) -> None:
    ingest_prices(ops_home, symbols=["AAPL"], start=D(2012, 12, 3), as_of=D(2012, 12, 14))
    result = runner.invoke(app, ["predict", "--as-of", "2012-12-14", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [row["symbol"] for row in summary["predictions"]] == ["AAPL"]
    assert "stale" in summary["skipped"]["MSFT"]


def test_monitor_before_any_prediction_says_there_is_nothing_to_monitor(
    ops_prices: Settings,
) -> None:
    result = runner.invoke(app, ["monitor"])
    assert result.exit_code == 0, result.output
    assert "nothing to monitor yet" in result.stdout
    assert not FeatureStore.from_settings(ops_prices).errors.exists()


def _data_files(table_dir: Path) -> set[Path]:
    return {p for p in table_dir.rglob("*") if p.is_file() and "_delta_log" not in p.parts}


def _filler_forecasts(template: pd.DataFrame, symbols: int, days: int) -> pd.DataFrame:
    """`symbols` x `days` forecasts of made-up symbols, shaped like `template`'s rows."""
    row = template.iloc[0]
    as_of = pd.bdate_range("2000-01-03", periods=days)
    frame = pd.DataFrame(
        {
            "symbol": np.repeat([f"F{i:04d}" for i in range(symbols)], days),
            "as_of_date": np.tile(as_of, symbols),
        }
    )
    frame["target_date"] = frame["as_of_date"] + pd.Timedelta(days=1)
    for column in template.columns.difference(frame.columns):
        frame[column] = row[column]
    return frame[list(template.columns)]


@pytest.mark.slow  # about 20 s alone, over a minute on a loaded machine
def test_killed_predict_keeps_the_previous_predictions_and_the_rerun_completes(
    ops_home: Settings,
) -> None:
    ingest_prices(ops_home, start=D(2012, 12, 3), as_of=D(2012, 12, 4))
    predict_as_of(ops_home, as_of=D(2012, 12, 4))
    store = FeatureStore.from_settings(ops_home)
    fresh = store.predictions.read()
    # One large data file (1.2 million rows) that also holds stale forecasts of 4 December:
    # re-predicting the day restates them, so the merge rewrites the whole file, streamed
    # for seconds under a staging name, and the kill lands before its commit (as in the
    # ingest kill test).
    stale = fresh.assign(predicted_close=fresh["predicted_close"] * 1.1)
    store.predictions.replace_where(
        pd.concat([_filler_forecasts(fresh, 1000, 1200), stale], ignore_index=True), "true"
    )
    version = store.predictions.version()
    previous = store.predictions.read()
    table_dir = Path(store.predictions.uri)
    files_before = _data_files(table_dir)

    process = subprocess.Popen([MPP, "predict", "--as-of", "2012-12-04"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        # Any new file counts: the local store stages a data file under a temporary name
        # and renames it just before the commit, so waiting for "*.parquet" is too late.
        if _data_files(table_dir) - files_before:
            break
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "predict finished before it could be killed"

    assert store.predictions.version() == version
    pd.testing.assert_frame_equal(store.predictions.read(), previous)

    rerun = predict_as_of(ops_home, as_of=D(2012, 12, 4))
    assert (rerun.inserted, rerun.updated) == (0, len(fresh))
    final = store.predictions.read()
    assert len(final) == len(previous)
    day = final[final["as_of_date"] == pd.Timestamp("2012-12-04")]
    day = day[day["symbol"].isin(fresh["symbol"])].sort_values("symbol", ignore_index=True)
    assert day["predicted_close"].tolist() == pytest.approx(fresh["predicted_close"].tolist())


def test_two_daily_runs_of_the_same_day_at_once_leave_one_set_of_rows(
    ops_home: Settings,
) -> None:
    command = [MPP, "daily", "--as-of", "2012-12-03", "--json"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    inserted = sorted(json.loads(out)["steps"]["predict"]["inserted"] for out in outputs)
    assert inserted == [0, 2]  # the second run found the day finished

    store = FeatureStore.from_settings(ops_home)
    forecasts = store.predictions.read()
    assert len(forecasts) == 2
    assert not forecasts.duplicated(list(predictions.KEY)).any()
    closes = store.prices().read()
    assert not closes.duplicated(list(prices.KEY)).any()
    summary = store.summary.read()
    assert len(summary) == 2


def test_predict_refuses_an_as_of_date_before_the_champion_was_trained(
    ops_home: Settings,
) -> None:
    result = runner.invoke(app, ["predict", "--as-of", "2012-06-01"])
    assert result.exit_code == 2
    assert "would use the future" in result.stderr
    assert not FeatureStore.from_settings(ops_home).predictions.exists()

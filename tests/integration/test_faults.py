from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings
from market_predictor.inference import predict
from market_predictor.ingest import ingest_prices
from market_predictor.store import FeatureStore, schemas

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
    for command in (["predict"], ["daily", "--as-of", "2012-11-30"], ["train", "--symbols", "X"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, command
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (settings.resolved_home / "mlflow.db").exists()


def test_future_as_of_date_exits_2(ops_home: Settings) -> None:
    for command in ("predict", "monitor", "daily"):
        result = runner.invoke(app, [command, "--as-of", "2099-01-02"])
        assert result.exit_code == 2, command
        assert "in the future" in result.stderr


def test_as_of_date_before_any_data_exits_2(ops_home: Settings) -> None:
    result = runner.invoke(app, ["predict", "--as-of", "2001-01-02"])
    assert result.exit_code == 2
    assert "before any stored prices" in result.stderr


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


def test_killed_predict_keeps_the_previous_predictions_and_the_rerun_completes(
    ops_home: Settings,
) -> None:
    ingest_prices(ops_home, start=D(2012, 12, 3), as_of=D(2012, 12, 4))
    predict(ops_home, as_of=D(2012, 12, 3))
    store = FeatureStore.from_settings(ops_home)
    previous, version = store.predictions.read(), store.predictions.version()
    table_dir = Path(store.predictions.uri)
    files_before = set(table_dir.rglob("*"))

    process = subprocess.Popen([MPP, "predict", "--as-of", "2012-12-04"])
    deadline = time.monotonic() + 60
    # Kill as soon as the new data file lands, before (or while) its commit is written.
    while time.monotonic() < deadline and process.poll() is None:
        if any(p.suffix == ".parquet" for p in set(table_dir.rglob("*")) - files_before):
            break
        time.sleep(0.005)
    assert process.poll() is None, "predict finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL

    survived = store.predictions.read()
    kept = survived[survived["as_of_date"] == pd.Timestamp("2012-12-03")]
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), previous)
    committed = store.predictions.version() - version
    assert committed in (0, 1)  # all of the write or none of it

    rerun = predict(ops_home, as_of=D(2012, 12, 4))
    assert rerun.inserted == (0 if committed else 2)
    final = store.predictions.read()
    assert (
        sorted(final["as_of_date"].dt.date.astype(str)) == ["2012-12-03"] * 2 + ["2012-12-04"] * 2
    )


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
    predictions = store.predictions.read()
    assert len(predictions) == 2
    assert not predictions.duplicated(list(schemas.PREDICTION_KEY)).any()
    prices = store.prices().read()
    assert not prices.duplicated(list(schemas.PRICE_KEY)).any()
    summary = store.summary.read()
    assert len(summary) == 2


def test_predict_refuses_an_as_of_date_before_the_champion_was_trained(
    ops_home: Settings,
) -> None:
    result = runner.invoke(app, ["predict", "--as-of", "2012-06-01"])
    assert result.exit_code == 2
    assert "would use the future" in result.stderr
    assert not FeatureStore.from_settings(ops_home).predictions.exists()

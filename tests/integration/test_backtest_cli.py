"""`mpp backtest` end to end on real sample rows in a Delta store: network + baselines."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings
from market_predictor.store import FeatureStore
from tests.fixtures.ml import sample_prices, store_prices

runner = CliRunner()

# AAPL and MSFT 2011-2012 are stored; the backtest refits twice in Q4 2012.
WINDOW = ["--start", "2012-10-01", "--end", "2012-12-31", "--retrain-every", "2M"]


@pytest.fixture
def stored(settings: Settings) -> Settings:
    store_prices(settings, sample_prices())
    return settings


def test_backtest_reports_network_and_baselines_on_the_same_forecasts(stored: Settings) -> None:
    quarter = ["--start", "2012-10-01", "--end", "2012-12-31", "--retrain-every", "3M"]
    result = runner.invoke(
        app, ["backtest", "--symbols", "aapl,msft", *quarter, "--max-epochs", "1", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["forecasters"] == ["lstm", "persistence", "drift", "garch"]
    assert summary["symbols"] == ["AAPL", "MSFT"]
    assert summary["folds"] == [{"start": "2012-10-01", "end": "2012-12-31"}]
    assert summary["config"]["max_epochs"] == 1
    metrics = summary["metrics"]
    for name in summary["forecasters"]:
        assert set(metrics[name]) == {"AAPL", "MSFT", "ALL"}
        # Q4 2012 has 62 trading days per symbol; the forecast on 12-31 has no outcome.
        assert metrics[name]["ALL"]["n"] == 2 * 61
        assert 0.0 < metrics[name]["ALL"]["pinball"] < 0.02
    assert metrics["persistence"]["ALL"]["mase"] == pytest.approx(1.0)
    assert 0.5 < metrics["lstm"]["ALL"]["mase"] < 1.5


def test_backtest_prints_a_table_per_symbol_and_overall(stored: Settings) -> None:
    result = runner.invoke(app, ["backtest", *WINDOW, "--baselines-only"])
    assert result.exit_code == 0, result.stderr
    for text in ("AAPL", "MSFT", "ALL", "persistence", "drift", "MASE", "Pinball", "2 folds"):
        assert text in result.stdout
    assert "lstm" not in result.stdout


def test_backtest_writes_nothing(stored: Settings) -> None:
    before = FeatureStore.from_settings(stored).prices().table_version()
    result = runner.invoke(app, ["backtest", *WINDOW, "--baselines-only", "--json"])
    assert result.exit_code == 0, result.stderr
    assert FeatureStore.from_settings(stored).prices().table_version() == before
    assert not (stored.resolved_home / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--start", "2012-13-01"], "malformed --start date"),
        (["--end", "yesterday"], "malformed --end date"),
        (["--start", "2012-12-01", "--end", "2012-11-01"], "after"),
        (["--retrain-every", "3X"], "--retrain-every"),
        (["--retrain-every", "0M"], "--retrain-every"),
        (["--symbols", "AAPL,ZZZZ"], "ZZZZ"),
        (["--symbols", "../etc"], "invalid symbol"),
        (["--model", "gru"], "unknown network"),
        (["--max-epochs", "0"], "max-epochs"),
        (["--start", "2011-03-01", "--end", "2011-06-30"], "too little history"),
        (["--start", "2013-06-01", "--end", "2013-07-01"], "no stored prices"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    stored: Settings, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["backtest", *arguments])
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error:")
    assert message in lines[0]
    assert result.stdout == ""


def test_backtest_on_an_empty_store_says_to_ingest_first(settings: Settings) -> None:
    result = runner.invoke(app, ["backtest", "--baselines-only"])
    assert result.exit_code == 2
    assert "mpp ingest" in result.stderr

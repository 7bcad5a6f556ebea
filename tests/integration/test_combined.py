"""The combined candidate end to end: `mpp train` scores it beside the network and the
rivals on the gate's window, the gate makes it champion when it is the honest winner,
and the registered champion forecasts through `mpp predict`, through
`mlflow.pyfunc.load_model` in a fresh process without the package, and shows on the
API's champion card with its interval backtests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from market_predictor.api.models_info import read_models
from market_predictor.cli import app
from market_predictor.config import Settings, get_settings
from market_predictor.models.combined import CombinedForecaster
from market_predictor.models.garch import GarchForecaster
from market_predictor.models.network_forecaster import NetworkForecaster
from market_predictor.registry import load_champion
from market_predictor.results import TrainResult
from market_predictor.store import FeatureStore
from market_predictor.training import train
from tests.fixtures.ml import FAST_TRAINING, store_prices, synthetic_prices
from tests.integration.test_pyfunc import predict_in_fresh_process

COMBINING = ("persistence", "drift", "garch", "combined")
runner = CliRunner()


@pytest.fixture(scope="module")
def combined_home(
    tmp_path_factory: pytest.TempPathFactory, _migrated_mlflow_db: Path
) -> tuple[Path, TrainResult]:
    """Two epochs on AR(1) prices: the network and GARCH each edge persistence, and
    their average beats both on the gate's window. Trained once for the module."""
    home = tmp_path_factory.mktemp("combined") / "home"
    home.mkdir(parents=True)
    shutil.copy(_migrated_mlflow_db, home / "mlflow.db")
    settings = Settings(home=home, rivals=COMBINING)
    store_prices(settings, synthetic_prices())
    return home, train(settings, config_overrides={**FAST_TRAINING, "max_epochs": 2})


@pytest.fixture
def combined_run(
    combined_home: tuple[Path, TrainResult], monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, TrainResult]:
    home, summary = combined_home
    monkeypatch.setenv("MPP_HOME", str(home))
    monkeypatch.setenv("MPP_RIVALS", ",".join(COMBINING))
    get_settings.cache_clear()
    return get_settings(), summary


def test_the_combined_candidate_becomes_champion_when_it_beats_every_contestant(
    combined_run: tuple[Settings, TrainResult],
) -> None:
    settings, summary = combined_run
    scores = summary.gate_scores
    assert set(scores) == {"model", "persistence", "garch", "combined"}
    assert all(scores["combined"] < score for who, score in scores.items() if who != "combined")
    # The verdict names the first contestant the network did not beat.
    assert summary.decision == "rejected_vs_garch"
    assert summary.rival_versions == {"combined": summary.champion_version}
    assert summary.combined_components == ["model", "garch"]
    assert "The combined forecast beat the LSTM" in summary.message
    assert "averages the quantiles of the LSTM and GARCH(1,1)-t" in summary.message

    champion = load_champion(settings)
    assert champion.tags["gate_decision"] == "combined_promoted"
    combined = champion.forecaster
    assert isinstance(combined, CombinedForecaster)
    assert isinstance(combined.components["model"], NetworkForecaster)
    assert isinstance(combined.components["garch"], GarchForecaster)
    # A row is forecast once the network can; the daily job reads GARCH's 126 rows.
    assert combined.min_history == combined.components["model"].min_history
    assert combined.read_rows == combined.components["garch"].read_rows == 126
    assert combined.selected_on and combined.selected_on[1] < summary.validation_start.isoformat()

    run = MlflowClient(settings.resolved_tracking_uri).get_run(summary.run_id)
    assert run.data.metrics["val_combined_pinball"] == summary.metrics["combined"].pinball
    assert "interval_test.combined.interval.conditional_coverage.p_value" in run.data.metrics


def test_a_combined_champion_forecasts_through_mpp_predict(
    combined_run: tuple[Settings, TrainResult],
) -> None:
    settings, _ = combined_run
    result = runner.invoke(app, ["predict", "--symbols", "AAA,BBB", "--json"])
    assert result.exit_code == 0, result.output
    served = pd.DataFrame(json.loads(result.stdout)["predictions"])
    assert sorted(served["symbol"]) == ["AAA", "BBB"]
    prices = FeatureStore.from_settings(settings).prices().read()
    expected = load_champion(settings).predict(prices).set_index("symbol")
    for row in served.to_dict("records"):
        for column in ("predicted_close", "lower", "upper"):
            # The JSON rounds prices to 6 decimals.
            assert row[column] == pytest.approx(expected.loc[row["symbol"], column], abs=1e-6)


def test_a_combined_champion_loads_through_mlflow_pyfunc_in_a_fresh_process(
    combined_run: tuple[Settings, TrainResult], tmp_path: Path
) -> None:
    settings, _ = combined_run
    prices = FeatureStore.from_settings(settings).prices().read()
    champion = load_champion(settings)
    recent = prices.groupby("symbol").tail(champion.min_history + 5)
    recent = recent[["symbol", "date", "open", "high", "low", "close", "volume"]]
    forecasts = predict_in_fresh_process(settings.resolved_tracking_uri, recent, tmp_path)
    expected = champion.predict(recent)
    assert forecasts["symbol"].tolist() == expected["symbol"].tolist() == ["AAA", "BBB"]
    for column in ("predicted_close", "lower", "upper"):
        assert forecasts[column].to_numpy() == pytest.approx(expected[column].to_numpy())


def test_the_champion_card_shows_every_contestants_metrics_and_interval_backtests(
    combined_run: tuple[Settings, TrainResult],
) -> None:
    settings, summary = combined_run
    _, card = read_models(settings)
    assert card is not None and card.model_type == "CombinedForecaster"
    assert set(card.validation) == {"model", *COMBINING}
    assert card.validation["combined"].pinball == summary.metrics["combined"].pinball
    assert card.interval_tests == summary.interval_tests
    assert set(card.interval_tests) == {"model", *COMBINING}
    tests = card.interval_tests["combined"]
    assert (tests.lower.nominal, tests.upper.nominal) == (0.1, 0.1)
    assert tests.interval.nominal == 0.2
    assert tests.lower.n == summary.metrics["combined"].n

"""Training end to end: dataset lineage, MLflow logging and the gate's winning outcome."""

from __future__ import annotations

import datetime as dt

import pytest
from mlflow.tracking import MlflowClient

from market_predictor.config import Settings
from market_predictor.registry import load_champion
from market_predictor.store import FeatureStore
from market_predictor.training import train
from tests.fixtures.ml import FAST_TRAINING, garch_prices, store_prices

LEARNS = {**FAST_TRAINING, "learning_rate": 0.01, "max_epochs": 4}
DIVERGES = {**FAST_TRAINING, "learning_rate": 5.0, "max_epochs": 1}


def _client(settings: Settings) -> MlflowClient:
    uri = settings.resolved_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture
def first_run(synthetic_store: Settings):
    return train(synthetic_store, config_overrides=LEARNS)


def test_a_network_that_beats_persistence_becomes_champion(
    synthetic_store: Settings, first_run
) -> None:
    summary = first_run
    assert summary.decision == "promoted"
    assert summary.became_champion and summary.champion_version == summary.version == "1"
    model, persistence = summary.metrics["model"], summary.metrics["persistence"]
    assert model is not None and persistence is not None
    assert model.pinball < persistence.pinball
    assert summary.metrics["champion"] is None
    assert "beat persistence" in summary.message and "now champion" in summary.message
    assert _aliases(synthetic_store) == {"champion": "1", "challenger": "1"}


def test_a_later_worse_run_does_not_take_the_champion_alias(
    synthetic_store: Settings, first_run
) -> None:
    worse = train(synthetic_store, config_overrides=DIVERGES)
    assert worse.version == "2"
    assert not worse.became_champion
    assert worse.decision in ("rejected_vs_persistence", "rejected_vs_champion")
    assert worse.metrics["champion"] is not None
    assert worse.champion_version == "1"
    client = _client(synthetic_store)
    assert _aliases(synthetic_store) == {
        "champion": "1",
        "challenger": "2",
    }
    tags = client.get_model_version(synthetic_store.model_name, "2").tags
    assert tags["gate_decision"] == worse.decision
    assert float(tags["val_pinball_model"]) > float(tags["val_pinball_champion"])
    assert load_champion(synthetic_store).version == "1"


def test_run_logs_lineage_params_epoch_metrics_and_plots(
    synthetic_store: Settings, first_run
) -> None:
    client = _client(synthetic_store)
    run = client.get_run(first_run.run_id)
    dataset = FeatureStore.from_settings(synthetic_store).datasets.get(1)
    assert run.data.params["dataset_content_hash"] == dataset.content_hash
    assert run.data.params["feature_table_version"] == str(dataset.table_version)
    assert run.data.params["model"] == "lstm"
    assert first_run.lineage == dataset.lineage()
    history = client.get_metric_history(first_run.run_id, "val_loss")
    assert len(history) == first_run.epochs_trained
    assert "val_persistence_pinball" in run.data.metrics
    plots = {a.path for a in client.list_artifacts(first_run.run_id, "plots")}
    assert plots == {"plots/validation_forecasts.png", "plots/residuals.png"}
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.artifact_location == synthetic_store.resolved_artifact_uri


def test_training_on_an_existing_dataset_version_reuses_its_rows(
    synthetic_store: Settings, first_run
) -> None:
    again = train(synthetic_store, dataset_version=1, config_overrides=DIVERGES, promote=False)
    assert again.lineage == first_run.lineage
    assert len(FeatureStore.from_settings(synthetic_store).datasets.list()) == 1
    assert again.champion_version == "1"
    assert "promotion was off" in again.message


def test_a_single_symbol_model_has_its_own_registry_name(synthetic_store: Settings) -> None:
    summary = train(
        synthetic_store, symbols=["AAA"], model_name="aaa-only", config_overrides=LEARNS
    )
    assert summary.model_name == "aaa-only"
    assert summary.lineage["dataset_symbols"] == "AAA"
    assert load_champion(synthetic_store, "aaa-only").forecaster.predict(
        FeatureStore.from_settings(synthetic_store).prices().read(["BBB"])
    )["symbol"].tolist() == ["BBB"]


def _aliases(settings: Settings) -> dict[str, str]:
    model = _client(settings).get_registered_model(settings.model_name)
    return {alias: str(version) for alias, version in model.aliases.items()}


@pytest.fixture
def garch_store(mlflow_home: Settings) -> Settings:
    store_prices(mlflow_home, garch_prices())
    return mlflow_home


def test_garch_becomes_champion_when_it_beats_the_network_and_persistence(
    garch_store: Settings,
) -> None:
    # Volatility clusters faster than a 21-day window follows and one epoch leaves the
    # network at about persistence: GARCH is the honest winner on the unseen window.
    summary = train(garch_store, config_overrides={**FAST_TRAINING, "max_epochs": 1})
    garch = summary.metrics["garch"].pinball
    assert garch < summary.metrics["persistence"].pinball
    assert garch < summary.metrics["model"].pinball
    assert summary.decision == "rejected_vs_garch"
    assert summary.garch_version == summary.champion_version == "2"
    assert not summary.became_champion and not summary.is_baseline
    assert "GARCH(1,1)-t beat the LSTM" in summary.message
    champion = load_champion(garch_store)
    assert champion.tags["gate_decision"] == "garch_promoted"
    assert type(champion.forecaster).__name__ == "GarchForecaster"
    # Refitted on the training range, calibrated on the early-stopping months only.
    calibration = champion.forecaster.calibration
    assert calibration is not None
    assert dt.date.fromisoformat(calibration.end) < summary.validation_start
    prices = FeatureStore.from_settings(garch_store).prices().read()
    forecast = champion.predict(prices)
    assert (forecast["predicted_close"] == forecast["last_close"]).all()


def test_every_rival_is_calibrated_before_the_gate_window(
    synthetic_store: Settings, first_run
) -> None:
    champion = load_champion(synthetic_store)
    calibration = champion.forecaster.calibration
    assert calibration is not None
    assert dt.date.fromisoformat(calibration.end) < first_run.validation_start
    assert first_run.metrics["garch"] is not None
    client = _client(synthetic_store)
    tags = client.get_model_version(synthetic_store.model_name, "1").tags
    assert float(tags["val_pinball_model"]) < float(tags["val_pinball_garch"])

"""The registry: baseline fallback, loading the champion, manual promotion, retrain dates."""

from __future__ import annotations

import datetime as dt

import pytest
from mlflow.tracking import MlflowClient

from market_predictor.config import Settings
from market_predictor.errors import NotFoundError
from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.registry import (
    last_retrain,
    list_versions,
    load_champion,
    promote,
    register_baseline,
    show_version,
)
from market_predictor.store import FeatureStore
from market_predictor.training import train
from tests.fixtures.ml import FAST_TRAINING

DIVERGES = {**FAST_TRAINING, "learning_rate": 5.0, "max_epochs": 1}


def _client(settings: Settings) -> MlflowClient:
    uri = settings.resolved_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_without_a_champion_a_losing_network_leaves_the_baseline_as_champion(
    real_store: Settings,
) -> None:
    # No rival that may serve: whether GARCH beats persistence on these months is the
    # data's business (tests/integration/test_training.py has it win).
    real_store = real_store.model_copy(update={"rivals": ("persistence", "drift")})
    summary = train(real_store, config_overrides=DIVERGES)
    assert summary.decision == "rejected_vs_persistence"
    assert summary.is_baseline and not summary.became_champion
    assert (summary.version, summary.baseline_version, summary.champion_version) == ("1", "2", "2")
    assert "persistence baseline was registered as version 2 and is champion" in summary.message
    client = _client(real_store)
    tags = client.get_model_version(real_store.model_name, "2").tags
    assert tags["is_baseline"] == "true"
    assert tags["gate_decision"] == "baseline_fallback"
    assert _aliases(real_store) == {
        "champion": "2",
        "challenger": "1",
    }
    champion = load_champion(real_store)
    assert champion.is_baseline and isinstance(champion.forecaster, PersistenceForecaster)
    assert champion.trained_until == dt.date(2012, 12, 31)
    prices = FeatureStore.from_settings(real_store).prices().read()
    forecast = champion.predict(prices)
    assert forecast["symbol"].tolist() == ["AAPL", "MSFT"]
    last = prices.groupby("symbol")["close"].last().to_numpy()
    assert forecast["predicted_close"].to_numpy() == pytest.approx(last)


def test_loading_a_champion_that_does_not_exist_says_to_train_first(
    mlflow_home: Settings,
) -> None:
    with pytest.raises(NotFoundError, match="no champion registered for 'market-price-predictor'"):
        load_champion(mlflow_home)


def test_registered_baseline_is_champion_and_sets_the_last_retrain_date(
    real_store: Settings,
) -> None:
    assert last_retrain(real_store) is None
    version = register_baseline(real_store, trained_until=dt.date(2012, 6, 29))
    assert version == "1"
    champion = load_champion(real_store)
    assert champion.is_baseline
    assert champion.trained_until == dt.date(2012, 6, 29)
    assert champion.drift_profile["inputs"] == [
        "return_z",
        "gap_z",
        "range_z",
        "volatility_ratio",
        "volume_change",
    ]
    assert champion.drift_profile["last_date"] <= "2012-06-29"
    assert last_retrain(real_store) == dt.date(2012, 6, 29)


def test_manual_promotion_moves_the_champion_and_is_recorded(real_store: Settings) -> None:
    register_baseline(real_store, trained_until=dt.date(2012, 3, 30))
    register_baseline(real_store, promote=False, trained_until=dt.date(2012, 9, 28))
    assert load_champion(real_store).version == "1"
    result = promote(real_store, "2")
    assert result == {
        "model_name": real_store.model_name,
        "champion_version": "2",
        "previous_champion": "1",
        "promoted_by": "manual",
    }
    shown = show_version(real_store)
    assert shown["version"] == "2" and shown["promoted_by"] == "manual"
    listed = list_versions(real_store)
    assert [(v["version"], v["aliases"]) for v in listed] == [("2", ["champion"]), ("1", [])]
    with pytest.raises(NotFoundError, match="no version 9"):
        promote(real_store, "9")


def _aliases(settings: Settings) -> dict[str, str]:
    model = _client(settings).get_registered_model(settings.model_name)
    return {alias: str(version) for alias, version in model.aliases.items()}


def test_every_forecaster_training_scores_appears_on_the_api_champion_card(
    mlflow_home: Settings,
) -> None:
    # Logged by the very function train() logs with, for every name the gate scores:
    # a rival added to the gate's list cannot be dropped by the API's reader.
    import mlflow
    import pandas as pd

    from market_predictor.api.models_info import read_models
    from market_predictor.registry import register_forecaster, set_champion
    from market_predictor.tracking import configure_tracking, ensure_experiment
    from market_predictor.training.gate import SCORED
    from market_predictor.training.run import log_validation

    client = configure_tracking(mlflow_home)
    name = mlflow_home.model_name
    metrics = {who: {"pinball": 0.001 * (i + 1), "mae": 1.0 + i} for i, who in enumerate(SCORED)}
    with mlflow.start_run(experiment_id=ensure_experiment(client, mlflow_home)):
        log_validation({1: metrics}, pd.DataFrame(), "lstm")
        version = register_forecaster(
            client,
            name,
            PersistenceForecaster(),
            trained_until=dt.date(2012, 12, 31),
            drift_profile={},
            tags={},
        )
    set_champion(client, name, version, promoted_by="gate")
    _, champion = read_models(mlflow_home)
    assert champion is not None
    assert set(champion.validation) == set(SCORED)
    assert champion.validation["garch"].pinball == metrics["garch"]["pinball"]
    assert champion.validation["champion"].mae == metrics["champion"]["mae"]

"""Training end to end: dataset lineage, MLflow logging, the gate's outcomes (a win, a
tie, a loss, a replaced champion) and the gate's window kept from the fit."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import market_predictor.training.fit as fit
from market_predictor.api.models_info import read_models
from market_predictor.config import Settings
from market_predictor.registry import load_champion, register_baseline
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
    # Learning rate 5 wrecks the network: it loses to persistence before the champion.
    assert worse.decision == "rejected_vs_persistence"
    assert _pinball(worse, "model") > _pinball(worse, "persistence")
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


def test_a_retrain_that_only_ties_the_champion_leaves_it_in_place(
    synthetic_store: Settings, first_run
) -> None:
    # Same rows, same seed, same config: the fit is deterministic, so the challenger's
    # pinball loss equals the champion's exactly.
    tie = train(synthetic_store, config_overrides=LEARNS)
    assert _pinball(tie, "model") == _pinball(tie, "champion")
    assert _pinball(tie, "model") < _pinball(tie, "persistence")
    assert tie.decision == "rejected_vs_champion"
    assert not tie.became_champion
    assert tie.champion_version == first_run.version
    assert load_champion(synthetic_store).version == first_run.version
    assert _aliases(synthetic_store) == {"champion": "1", "challenger": "2"}


def test_a_better_network_replaces_an_existing_champion(synthetic_store: Settings) -> None:
    baseline = register_baseline(synthetic_store)
    assert load_champion(synthetic_store).is_baseline

    summary = train(synthetic_store, config_overrides=LEARNS)
    assert summary.decision == "promoted"
    assert summary.metrics["champion"] is not None
    assert _pinball(summary, "model") < _pinball(summary, "champion")
    assert summary.became_champion and summary.champion_version == summary.version != baseline
    assert f"champion version {baseline}" in summary.message
    champion = load_champion(synthetic_store)
    assert (champion.version, champion.is_baseline) == (summary.version, False)
    tags = _client(synthetic_store).get_model_version(synthetic_store.model_name, summary.version)
    assert tags.tags["compared_with_champion"] == baseline
    assert tags.tags["promoted_by"] == "gate"


def test_the_network_is_fitted_only_on_rows_before_the_gates_window(
    synthetic_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits: list[tuple[pd.Timestamp, object]] = []
    real_fit = fit.fit_forecaster

    def recording_fit(batches, config, **kwargs):  # type: ignore[no-untyped-def]
        prices = pd.concat(list(batches), ignore_index=True)
        fits.append((pd.to_datetime(prices["date"]).max(), kwargs.get("validation_start")))
        return real_fit(prices, config, **kwargs)

    monkeypatch.setattr(fit, "fit_forecaster", recording_fit)
    summary = train(synthetic_store, config_overrides=LEARNS)
    assert summary.validation_start is not None
    gate_start = pd.Timestamp(summary.validation_start)
    assert len(fits) == 1
    last_fitted_day, early_stopping_start = fits[0]
    assert last_fitted_day < gate_start
    assert early_stopping_start is not None
    assert pd.Timestamp(early_stopping_start) < gate_start
    # The gate scored the network on the window it never saw.
    run = _client(synthetic_store).get_run(summary.run_id)
    assert run.data.params["validation_start"] == summary.validation_start.isoformat()
    assert pd.Timestamp(run.data.params["early_stopping_start"]) < gate_start


def _pinball(summary, who: str) -> float:  # type: ignore[no-untyped-def]
    metrics = summary.metrics[who]
    assert metrics is not None and metrics.pinball is not None
    return float(metrics.pinball)


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
    # network at about persistence: GARCH is the honest winner on the unseen window, and
    # the combined candidate (that network and GARCH) loses to it.
    settings = garch_store.model_copy(update={"rivals": (*garch_store.rivals, "combined")})
    summary = train(settings, config_overrides={**FAST_TRAINING, "max_epochs": 1})
    garch = summary.metrics["garch"].pinball
    assert garch < summary.metrics["persistence"].pinball
    assert garch < summary.metrics["model"].pinball
    assert summary.combined_components == ["model", "garch"]
    assert summary.metrics["model"].pinball > summary.metrics["combined"].pinball > garch
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
    # GARCH's card shows what the training run scored (its own run holds its parameters).
    _, card = read_models(garch_store)
    assert card is not None and card.version == summary.champion_version
    assert set(card.validation) == {"model", "persistence", "drift", "garch", "combined"}
    assert card.validation["garch"].pinball == garch
    assert card.validation_start == summary.validation_start
    assert card.interval_tests["garch"] == summary.interval_tests["garch"]


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
    # The API's champion card shows every rival the run scored, GARCH included.
    _, card = read_models(synthetic_store)
    assert card is not None
    assert set(card.validation) == {"model", "persistence", "drift", "garch"}
    assert card.validation["garch"].pinball == first_run.metrics["garch"].pinball


def _recent_listings(count: int, rows: int, end: pd.Timestamp) -> pd.DataFrame:
    """`count` symbols listed `rows` business days before `end`."""
    listed = garch_prices(symbols=[f"NEW{i}" for i in range(count)], days=rows, seed=5)
    shift = end - listed["date"].max()
    return listed.assign(date=listed["date"] + shift)


def test_recent_listings_drop_out_of_the_comparison_and_leave_every_rival_in(
    mlflow_home: Settings,
) -> None:
    old = garch_prices(days=700)
    end = pd.Timestamp(old["date"].max())
    # One listing 60 days old: GARCH (22 rows of history) and log-HAR (23) forecast
    # more of its days than the network (window 10: 31 rows) does.
    store_prices(mlflow_home, pd.concat([old, _recent_listings(1, 60, end)], ignore_index=True))
    settings = mlflow_home.model_copy(update={"rivals": (*mlflow_home.rivals, "har")})
    summary = train(settings, config_overrides={**FAST_TRAINING, "max_epochs": 1})
    assert summary.left_out == {}
    compared = {who: m.n for who, m in summary.metrics.items() if m is not None}
    assert set(compared) == {"model", "persistence", "drift", "garch", "har"}
    assert len(set(compared.values())) == 1  # every contestant on the same rows

    # Four more listings, 100 days old: GARCH still forecasts every row the network does
    # (it needed 126 rows once, and was left out of this gate).
    store_prices(mlflow_home, _recent_listings(5, 100, end))
    summary = train(settings, config_overrides={**FAST_TRAINING, "max_epochs": 1})
    assert summary.left_out == {}
    assert summary.metrics["garch"] is not None
    assert summary.metrics["garch"].n == summary.metrics["model"].n

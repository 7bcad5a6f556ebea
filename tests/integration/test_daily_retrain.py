"""The daily job's retrain replaces a champion when the challenger beats it: a decaying
persistence champion on prices with a learnable signal is replaced by the network the
retrain fits, and the next forecast of the same day comes from the new champion."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from market_predictor import calendar
from market_predictor.config import Settings, get_settings
from market_predictor.pipeline import run_daily
from market_predictor.registry import load_champion, register_baseline
from market_predictor.store import FeatureStore
from tests.fixtures.ml import FAST_TRAINING, synthetic_prices
from tests.fixtures.ops import predict_as_of

LEARNS = {**FAST_TRAINING, "learning_rate": 0.01, "max_epochs": 4}


@pytest.fixture
def decaying_champion(
    synthetic_store: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Settings, dt.date, str]:
    """A persistence champion trained a few trading days before the last stored day,
    the daily job's source serving the same prices, and a model age that asks for a retrain."""
    prices = synthetic_prices()
    source = tmp_path / "prices.parquet"
    prices.to_parquet(source)
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump(LEARNS))
    for name, value in {
        "MPP_SOURCE": "parquet",
        "MPP_SOURCE_PATH": str(source),
        "MPP_SYMBOLS": ",".join(sorted(prices["symbol"].unique())),
        "MPP_TRAINING_CONFIG": str(config),
        # The champion's data ends 3 trading days before the run: a scheduled refresh.
        "MPP_MAX_MODEL_AGE_DAYS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    settings = get_settings()
    last = pd.Timestamp(prices["date"].max()).date()
    as_of = calendar.latest_trading_day(last, settings.calendar)
    trained_until = calendar.shift_trading_days(as_of, -3, settings.calendar)
    baseline = register_baseline(settings, trained_until=trained_until)
    return settings, as_of, baseline


def test_the_daily_retrain_replaces_a_champion_it_beats(
    decaying_champion: tuple[Settings, dt.date, str],
) -> None:
    settings, as_of, baseline = decaying_champion
    report = run_daily(settings, as_of=as_of)

    assert report.failed_step is None, report.error
    steps = report.steps
    assert steps.predict is not None and steps.predict.model_version == baseline
    assert steps.retrain is not None and steps.retrain.status == "trained"
    assert steps.retrain.trigger == "scheduled"
    trained = steps.retrain.train
    assert trained is not None
    assert trained.decision == "promoted"
    model, champion_metrics = trained.metrics["model"], trained.metrics["champion"]
    assert model is not None and champion_metrics is not None
    assert model.pinball is not None and champion_metrics.pinball is not None
    assert model.pinball < champion_metrics.pinball
    new_version = trained.version
    assert trained.became_champion and trained.champion_version == new_version

    champion = load_champion(settings)
    assert (champion.version, champion.is_baseline) == (new_version, False)
    assert champion.trained_until == as_of
    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    tags = client.get_model_version(settings.model_name, new_version).tags
    assert tags["compared_with_champion"] == baseline

    again = predict_as_of(settings, as_of=as_of)
    assert again.model_version == new_version
    assert again.inserted == len(settings.symbols)
    served = FeatureStore.from_settings(settings).predictions.read()
    assert sorted(set(served["model_version"])) == sorted({baseline, new_version})

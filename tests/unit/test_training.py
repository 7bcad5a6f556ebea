from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.training.config import TrainConfig, load_train_config, save_train_config
from market_predictor.training.evaluate import held_out_windows, validation_start_for
from market_predictor.training.gate import decide
from market_predictor.training.report import outcome_message
from market_predictor.training.run import Registered
from market_predictor.training.samples import check_history
from tests.fixtures.ml import synthetic_prices


def test_default_config_comes_from_the_packaged_yaml(settings: Settings) -> None:
    config = load_train_config(settings)
    assert config.model == "lstm"
    assert config.quantiles == (0.1, 0.5, 0.9)
    assert config.validation_months == 6


def test_overrides_replace_file_values_and_none_is_ignored(settings: Settings) -> None:
    config = load_train_config(settings, {"model": "MLP", "max_epochs": 3, "window": None})
    assert (config.model, config.max_epochs, config.window) == ("mlp", 3, 30)


def test_a_config_file_named_in_settings_is_used(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    save_train_config(TrainConfig(model="transformer", hidden_size=16), path)
    config = load_train_config(Settings(training_config=path))
    assert (config.model, config.hidden_size) == ("transformer", 16)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": "gru"}, "unknown network 'gru'"),
        ({"window": 0}, "window must be at least 1"),
        ({"max_epochs": "many"}, "max_epochs must be a number"),
        ({"dropout": 1.5}, "dropout"),
        ({"quantiles": [0.9, 0.1]}, "quantiles"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"epochs": 3}, "unknown training setting"),
    ],
)
def test_bad_settings_are_input_errors(settings: Settings, overrides: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_train_config(settings, overrides)


def test_missing_config_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_train_config(Settings(training_config=tmp_path / "nope.yaml"))


def test_validation_window_is_the_last_months_of_the_range() -> None:
    rows = pd.DataFrame({"date": pd.to_datetime(["2012-01-03", "2012-12-31"])})
    assert validation_start_for(rows, 6) == dt.date(2012, 7, 1)


def test_too_little_history_for_the_window_names_the_requirement() -> None:
    prices = synthetic_prices(days=60)
    with pytest.raises(InputError, match=r"too little history for window 30: .* more than 51"):
        check_history(prices, TrainConfig(window=30), dt.date(2015, 3, 1))


def test_history_with_no_validation_rows_is_refused() -> None:
    prices = synthetic_prices(days=100)
    with pytest.raises(InputError, match="no validation rows"):
        check_history(prices, TrainConfig(window=5), dt.date(2030, 1, 1))


def test_a_tuned_config_in_mpp_home_is_used_when_none_is_named(settings: Settings) -> None:
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    save_train_config(TrainConfig(model="mlp", window=12), settings.resolved_home / "train.yaml")
    config = load_train_config(settings)
    assert (config.model, config.window) == ("mlp", 12)


def _promoted(median_source: str) -> str:
    outcome = decide({"model": 0.0035, "persistence": 0.0036})
    registered = Registered(version="2", champion_version="2")
    return outcome_message(
        outcome, registered, network="lstm", previous=None, median_source=median_source
    )


def test_outcome_says_plainly_when_the_median_is_the_last_close() -> None:
    message = _promoted("persistence")
    assert "now champion" in message
    assert "median forecast is the last close" in message
    assert "median" not in _promoted("network")


def test_early_stopping_window_sits_before_the_gate_window_and_never_overlaps() -> None:
    prices = synthetic_prices(days=400)
    validation_start, stopping_start = held_out_windows(prices, TrainConfig(window=10))
    last = pd.Timestamp(prices["date"].max()).date()
    assert stopping_start < validation_start <= last
    assert validation_start == validation_start_for(prices, 6)
    assert (validation_start - stopping_start).days in range(85, 95)  # about 3 months


def test_a_range_too_short_for_both_held_out_windows_is_refused() -> None:
    prices = synthetic_prices(days=180)
    with pytest.raises(InputError, match="too little history"):
        held_out_windows(prices, TrainConfig(window=10))

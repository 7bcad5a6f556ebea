"""Training defaults live once, in the packaged train.yaml; options point at their flag."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.training.config import NETWORK_NAMES, TrainConfig, load_train_config
from market_predictor.training.history import merged_config


def _packaged() -> dict:
    text = resources.files("market_predictor").joinpath("configs/train.yaml").read_text()
    return yaml.safe_load(text)


def test_the_packaged_yaml_sets_every_training_setting_and_nothing_else() -> None:
    assert set(_packaged()) == set(TrainConfig.model_fields)


def test_a_config_built_in_code_takes_every_unset_value_from_the_packaged_yaml() -> None:
    config = TrainConfig(window=10)
    expected = {**_packaged(), "window": 10, "quantiles": tuple(_packaged()["quantiles"])}
    assert config.model_dump() == expected


def test_the_packaged_defaults_are_what_train_loads_without_a_config_file(
    settings: Settings,
) -> None:
    assert load_train_config(settings) == TrainConfig()


def test_the_network_names_are_the_ones_the_config_accepts() -> None:
    for name in NETWORK_NAMES:
        assert TrainConfig(model=name).model == name
    with pytest.raises(ValueError, match="literal"):
        TrainConfig(model="gru")


@pytest.mark.parametrize(
    ("options", "param", "message"),
    [
        ({"max_epochs": 0}, "max_epochs", "max_epochs must be at least 1, not 0"),
        ({"model": "gru"}, "model", "unknown network 'gru': choose one of lstm, transformer, mlp"),
    ],
)
def test_a_bad_option_names_its_parameter(
    settings: Settings, options: dict, param: str, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        merged_config(settings, **options)
    assert (str(caught.value), caught.value.param) == (message, param)


def test_a_bad_value_from_overrides_or_the_file_names_no_parameter(settings: Settings) -> None:
    with pytest.raises(InputError) as caught:
        merged_config(settings, overrides={"max_epochs": 0})
    assert caught.value.param is None


def test_options_win_over_overrides_and_none_keeps_the_file_value(settings: Settings) -> None:
    config = merged_config(
        settings, model="mlp", max_epochs=None, overrides={"model": "transformer", "window": 7}
    )
    assert (config.model, config.window, config.max_epochs) == ("mlp", 7, TrainConfig().max_epochs)

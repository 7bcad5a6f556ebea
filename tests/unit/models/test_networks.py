from __future__ import annotations

import numpy as np
import pytest
import torch

from market_predictor.evaluation import pinball_loss
from market_predictor.models.base import QuantileRegressor, pinball
from market_predictor.models.network_forecaster import build_network
from market_predictor.training.config import NETWORK_NAMES


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_each_network_maps_a_window_batch_to_one_value_per_quantile(name: str) -> None:
    network = build_network(
        name, n_features=7, n_outputs=3, hidden_size=8, num_layers=2, dropout=0.0, window=12
    )
    assert network(torch.randn(5, 12, 7)).shape == (5, 3)


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_untrained_module_starts_as_the_calibrated_persistence_forecast(name: str) -> None:
    network = build_network(
        name, n_features=7, n_outputs=3, hidden_size=8, num_layers=1, dropout=0.0, window=10
    )
    module = QuantileRegressor(network, (0.1, 0.5, 0.9), (-1.2, 0.0, 1.3))
    volatility = torch.tensor([0.01, 0.02])
    output = module(torch.randn(2, 10, 7), volatility)
    expected = volatility[:, None, None] * torch.tensor([[-1.2, 0.0, 1.3]])
    torch.testing.assert_close(output, expected)


def test_an_untrained_module_scales_each_horizons_band_by_its_square_root() -> None:
    network = build_network(
        "mlp", n_features=7, n_outputs=6, hidden_size=8, num_layers=1, dropout=0.0, window=10
    )
    z_scores = ((-1.2, 0.0, 1.3), (-1.5, 0.1, 1.4))
    module = QuantileRegressor(network, (0.1, 0.5, 0.9), z_scores, horizons=(1, 4))
    output = module(torch.randn(2, 10, 7), torch.tensor([0.01, 0.02]))
    assert output.shape == (2, 2, 3)
    torch.testing.assert_close(output[1, 1], 0.02 * 2.0 * torch.tensor(z_scores[1]))


def test_torch_pinball_matches_the_evaluation_pinball() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(0, 0.01, 50)
    predicted = rng.normal(0, 0.01, (50, 3))
    levels = (0.1, 0.5, 0.9)
    ours = pinball(
        torch.tensor(actual)[:, None],
        torch.tensor(predicted)[:, None, :],
        torch.tensor(levels, dtype=torch.float64),
        torch.ones(1, dtype=torch.float64),
    )
    assert float(ours) == pytest.approx(pinball_loss(actual, predicted, levels))


def test_pinball_leaves_unknown_targets_out_and_weighs_each_horizon() -> None:
    levels = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    predicted = torch.zeros(2, 2, 3, dtype=torch.float64)
    target = torch.tensor([[1.0, float("nan")], [1.0, 2.0]], dtype=torch.float64)
    weights = torch.tensor([1.0, 0.5], dtype=torch.float64)
    # Known: (row 0, h1), (row 1, h1), (row 1, h2) -> per-level losses 0.1/0.5/0.9 times
    # the target, the second horizon's halved.
    per_target = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64).sum()
    expected = (per_target * 1.0 + per_target * 1.0 + per_target * 2.0 * 0.5) / 9
    assert float(pinball(target, predicted, levels, weights)) == pytest.approx(float(expected))


def test_unknown_network_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown network"):
        build_network(
            "gru", n_features=7, n_outputs=3, hidden_size=8, num_layers=1, dropout=0, window=5
        )

"""The network's samples gathered one batch of symbols at a time: the same network as
from one frame, batches of whole symbols, and windows cut on demand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from market_predictor.config import Settings
from market_predictor.models.network_forecaster import NetworkForecaster
from market_predictor.store import FeatureStore
from market_predictor.training.config import TrainConfig
from market_predictor.training.fit import fit_forecaster
from market_predictor.training.samples import collect_samples, frame_batches
from market_predictor.training.windows import WindowDataset, collate_batch
from tests.fixtures.ml import store_prices, synthetic_prices

CONFIG = TrainConfig(hidden_size=8, window=10, max_epochs=2, batch_size=64)
VALIDATION_START = dt.date(2016, 1, 4)
HORIZONS = (1, 5)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    """Three symbols of unequal length (CCC listed later), rows not in key order."""
    frame = synthetic_prices(("AAA", "BBB", "CCC"), days=320)
    late = (frame["symbol"] == "CCC") & (frame["date"] < pd.Timestamp("2015-05-01"))
    return frame[~late].sample(frac=1.0, random_state=3).reset_index(drop=True)


def _fit(source: pd.DataFrame | object) -> NetworkForecaster:
    return fit_forecaster(
        source,  # type: ignore[arg-type]
        CONFIG,
        horizons=HORIZONS,
        validation_start=VALIDATION_START,
    )


@pytest.fixture(scope="module")
def one_frame(prices: pd.DataFrame) -> NetworkForecaster:
    return _fit(prices)


def _assert_same_fit(
    expected: NetworkForecaster, actual: NetworkForecaster, prices: pd.DataFrame
) -> None:
    for name, weights in expected.network.state_dict().items():
        assert torch.equal(weights, actual.network.state_dict()[name]), name
    np.testing.assert_array_equal(expected.scaler.mean_, actual.scaler.mean_)
    np.testing.assert_array_equal(expected.scaler.scale_, actual.scaler.scale_)
    np.testing.assert_array_equal(expected.z_scores, actual.z_scores)
    assert expected.median_sources == actual.median_sources
    assert expected.calibration is not None and actual.calibration is not None
    assert expected.calibration.to_dict() == actual.calibration.to_dict()
    pd.testing.assert_frame_equal(expected.predict_range(prices), actual.predict_range(prices))


def test_a_fit_from_batches_of_one_symbol_is_the_fit_from_one_frame(
    prices: pd.DataFrame, one_frame: NetworkForecaster
) -> None:
    _assert_same_fit(one_frame, _fit(frame_batches(prices, batch_rows=1)), prices)


def test_a_fit_streamed_from_the_dataset_table_is_the_fit_from_its_frame(
    settings: Settings, prices: pd.DataFrame, one_frame: NetworkForecaster
) -> None:
    store_prices(settings, prices)
    store = FeatureStore.from_settings(settings)
    dataset = store.datasets.create(store.prices(), dt.date(2015, 1, 1), dt.date(2016, 12, 31))
    assert dataset.row_count == len(prices)
    streamed = _fit(store.datasets.read_batches(dataset.version, batch_rows=250))
    _assert_same_fit(one_frame, streamed, prices)


def test_the_z_scores_are_those_of_persistence_fitted_before_the_validation_start(
    prices: pd.DataFrame, one_frame: NetworkForecaster
) -> None:
    from market_predictor.models.baselines import PersistenceForecaster

    before = prices[prices["date"] < pd.Timestamp(VALIDATION_START)]
    persistence = PersistenceForecaster(CONFIG.quantiles, horizons=HORIZONS).fit(before)
    np.testing.assert_array_equal(one_frame.z_scores, persistence.z_scores)


def test_the_calibration_is_the_one_fitted_on_the_held_out_rows_of_the_whole_frame(
    prices: pd.DataFrame, one_frame: NetworkForecaster
) -> None:
    from market_predictor.models.calibration import fit_calibration

    refitted = fit_calibration(one_frame, prices, VALIDATION_START)
    assert refitted is not None and one_frame.calibration is not None
    assert refitted.to_dict() == one_frame.calibration.to_dict()


@pytest.mark.parametrize(
    ("batch_rows", "expected"),
    [
        (1, [["AAA"], ["BBB"], ["CCC"]]),
        (10, [["AAA"], ["BBB"], ["CCC"]]),  # a batch holding batch_rows rows is full
        (11, [["AAA", "BBB"], ["CCC"]]),
        (20, [["AAA", "BBB"], ["CCC"]]),
        (21, [["AAA", "BBB", "CCC"]]),
    ],
)
def test_batches_hold_whole_symbols_in_order_until_they_reach_the_row_count(
    batch_rows: int, expected: list[list[str]]
) -> None:
    prices = synthetic_prices(("CCC", "AAA", "BBB"), days=10)
    batches = list(frame_batches(prices, batch_rows=batch_rows))
    assert [list(pd.unique(b["symbol"])) for b in batches] == expected
    together = pd.concat(batches, ignore_index=True)
    pd.testing.assert_frame_equal(
        together, prices.sort_values(["symbol", "date"], ignore_index=True)
    )


def test_too_little_history_in_any_batch_is_the_same_clear_error() -> None:
    from market_predictor.errors import InputError

    # A sample sits at row 31 or later (min_history) and needs the next row's close.
    short = synthetic_prices(("AAA", "BBB"), days=30)
    with pytest.raises(InputError, match=r"needs more than 31 price rows \(the longest has 30\)"):
        collect_samples(frame_batches(short, batch_rows=1), CONFIG, HORIZONS, None)


@pytest.fixture(scope="module")
def dataset(prices: pd.DataFrame) -> WindowDataset:
    samples = collect_samples(frame_batches(prices), CONFIG, HORIZONS, VALIDATION_START)
    return WindowDataset(samples, samples.train_rows, CONFIG.window)


def test_each_sample_is_the_window_ending_at_its_row_with_that_rows_targets(
    dataset: WindowDataset,
) -> None:
    for index in (0, 7, len(dataset) - 1):
        row = int(dataset.rows[index])
        window, volatility, target = dataset[index]
        torch.testing.assert_close(window, dataset.values[row - CONFIG.window + 1 : row + 1])
        assert window.shape == (CONFIG.window, dataset.values.shape[1])
        assert volatility == dataset.volatility[row]
        torch.testing.assert_close(target, dataset.target[row], equal_nan=True)


def test_a_batch_cut_at_once_equals_its_samples_cut_one_by_one(dataset: WindowDataset) -> None:
    indices = [5, 0, 42, 5]
    windows, volatility, target = dataset.__getitems__(indices)
    singles = [dataset[i] for i in indices]
    torch.testing.assert_close(windows, torch.stack([s[0] for s in singles]))
    torch.testing.assert_close(volatility, torch.stack([s[1] for s in singles]))
    torch.testing.assert_close(target, torch.stack([s[2] for s in singles]), equal_nan=True)


def test_the_dataset_shares_the_compact_arrays_instead_of_copying_windows(
    prices: pd.DataFrame,
) -> None:
    samples = collect_samples(frame_batches(prices), CONFIG, HORIZONS, VALIDATION_START)
    data = WindowDataset(samples, samples.train_rows, CONFIG.window)
    assert np.shares_memory(data.values.numpy(), samples.values)
    assert samples.values.dtype == np.float32
    assert samples.values.shape == (len(prices), data.values.shape[1])


def test_a_distributed_sampler_shards_the_samples_between_ranks(dataset: WindowDataset) -> None:
    covered: set[int] = set()
    for rank in (0, 1):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=True, seed=1)
        indices = list(sampler)
        assert len(indices) == (len(dataset) + 1) // 2
        loader = DataLoader(dataset, batch_size=16, sampler=sampler, collate_fn=collate_batch)
        expected = dataset.__getitems__(indices[:16])
        for got, want in zip(next(iter(loader)), expected, strict=True):
            torch.testing.assert_close(got, want, equal_nan=True)
        covered |= set(indices)
    assert covered == set(range(len(dataset)))

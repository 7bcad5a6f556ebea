"""Per-symbol fits on a process pool: the same result as a serial loop, whatever the
worker count or the order the symbols come in."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from market_predictor.models.per_symbol import CHUNKS_PER_WORKER, map_per_symbol, split_symbols
from market_predictor.models.rivals import VOLATILITY_FORECASTERS
from tests.fixtures.ml import garch_prices


def _sum_and_pid(values: list[float]) -> tuple[float, int]:
    time.sleep(0.02)  # long enough that the second worker is up before the first is done
    return sum(values), os.getpid()


def _fail_on_negative(value: float) -> float:
    if value < 0:
        raise ArithmeticError(f"negative {value}")
    return value


def test_every_symbol_is_fitted_once_in_symbol_order_for_any_worker_count() -> None:
    series = {f"S{i:02d}": [float(i), 1.0] for i in range(19)}
    shuffled = dict(reversed(list(series.items())))
    serial = map_per_symbol(_sum_and_pid, series, workers=1)
    assert {pid for _, pid in serial.values()} == {os.getpid()}  # no pool
    pooled = map_per_symbol(_sum_and_pid, shuffled, workers=2)
    assert list(pooled) == sorted(series) == list(serial)
    assert {s: v for s, (v, _) in pooled.items()} == {s: v for s, (v, _) in serial.items()}
    workers = {pid for _, pid in pooled.values()}
    assert len(workers) == 2 and os.getpid() not in workers


def test_symbols_are_dealt_into_a_few_even_chunks_per_worker() -> None:
    symbols = [f"S{i:04d}" for i in range(5000)]
    chunks = split_symbols(symbols, 2)
    assert len(chunks) == 2 * CHUNKS_PER_WORKER
    assert sorted(s for chunk in chunks for s in chunk) == symbols
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1
    assert split_symbols(["A", "B", "C"], 2) == [["A"], ["B"], ["C"]]


def test_a_failing_fit_in_a_worker_raises_in_the_caller() -> None:
    with pytest.raises(ArithmeticError, match=r"negative -1\.0"):
        map_per_symbol(_fail_on_negative, {"A": 1.0, "B": -1.0, "C": 2.0}, workers=2)


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        map_per_symbol(_fail_on_negative, {"A": 1.0}, workers=0)


@pytest.mark.parametrize("kind", sorted(VOLATILITY_FORECASTERS))
def test_a_rival_fitted_on_two_workers_equals_its_serial_fit(kind: str) -> None:
    prices = garch_prices(symbols=("AAA", "BBB", "CCC"), days=320, seed=4)
    prices["high"] = prices["close"] * np.exp(
        np.random.default_rng(1).uniform(0, 0.02, len(prices))
    )
    serial = VOLATILITY_FORECASTERS[kind]().fit(prices, workers=1)
    parallel = VOLATILITY_FORECASTERS[kind]().fit(prices, workers=2)
    assert sorted(serial.params) == ["*", "AAA", "BBB", "CCC"]
    assert parallel.to_params() == serial.to_params()

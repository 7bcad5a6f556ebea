"""Per-symbol fits mapped over a universe, serially or with a process pool.

Every per-symbol rival (GARCH, GJR-GARCH, EGARCH, HAR) fits each symbol independently,
so the fits spread over `workers` processes. The result is keyed and ordered by symbol
and each fit is a pure function of its own series, so it is the same dictionary for any
worker count and any input order.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import TypeVar

Series = TypeVar("Series")
Result = TypeVar("Result")

# Tasks per worker: a few chunks each so a slow chunk does not leave a worker idle for
# long, yet at 5,000 symbols a pool of 2 sends 8 tasks rather than 5,000 round trips.
CHUNKS_PER_WORKER = 4

# Modules the fork server imports once, so every worker it forks starts with them loaded
# rather than importing them per pool (arch alone takes about a second): the rivals'
# modules (numpy, pandas, scipy with them) and arch, which they import only to fit.
PRELOAD = ("arch", "market_predictor.models.rivals")


def map_per_symbol(
    fit: Callable[[Series], Result],
    series: Mapping[str, Series],
    workers: int = 1,
    *,
    preload: Sequence[str] = PRELOAD,
) -> dict[str, Result]:
    """`fit(series[symbol])` for every symbol, keyed and ordered by symbol.

    workers=1 runs in this process (no pool). `fit` and each series must pickle when
    workers > 1 (a module-level function, or a partial of one over plain objects).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    symbols = sorted(series)
    if workers == 1 or len(symbols) < 2:
        return {symbol: fit(series[symbol]) for symbol in symbols}
    chunks = [[(s, series[s]) for s in chunk] for chunk in split_symbols(symbols, workers)]
    fitted: dict[str, Result] = {}
    with ProcessPoolExecutor(
        max_workers=min(workers, len(chunks)), mp_context=_context(preload)
    ) as pool:
        for chunk in pool.map(partial(_fit_chunk, fit), chunks):
            fitted.update(chunk)
    return {symbol: fitted[symbol] for symbol in symbols}


def split_symbols(symbols: Sequence[str], workers: int) -> list[list[str]]:
    """CHUNKS_PER_WORKER tasks per worker (fewer when there are fewer symbols), dealt
    round robin rather than in contiguous slices: neighbouring symbols (one listing
    period, one data source) tend to cost alike, so this spreads the expensive ones."""
    n_chunks = min(len(symbols), workers * CHUNKS_PER_WORKER)
    return [list(symbols[i::n_chunks]) for i in range(n_chunks)]


def _fit_chunk(
    fit: Callable[[Series], Result], chunk: list[tuple[str, Series]]
) -> list[tuple[str, Result]]:
    return [(symbol, fit(values)) for symbol, values in chunk]


def _context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    # Not "fork": the parent may hold torch/Lightning (OpenMP and intra-op thread pools,
    # CUDA state, locks held by other threads at the moment of the fork), and a forked
    # child inherits those locks without the threads that would release them, which can
    # deadlock it. "forkserver" forks workers from a separate single-threaded server that
    # never imported torch, so it is as safe as "spawn" but pays the interpreter start
    # and the imports once per parent process (about 1 s here) instead of once per pool
    # (a pool then starts in ~25 ms). Where forkserver does not exist (Windows), spawn.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Takes effect only when this process first starts its fork server.
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")

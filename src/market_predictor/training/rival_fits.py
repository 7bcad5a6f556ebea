"""Per-symbol rival fits made outside the training process. For a large universe the
DAG's retrain fits the volatility rivals (GARCH, GJR-GARCH, EGARCH, HAR) as mapped
tasks, one per batch of symbols, and training takes their fits instead of making them.

`plan_batches` makes the training dataset the retrain will train on and splits its
symbols; `fit_batch` fits one batch and stores the fits; `stored_fits` reads them back
for `train(..., stored_rival_fits=True)`. The fits pass through the store (table
`training/rival_fits`), not XCom: with each symbol's standardised training returns
they weigh about 0.2 MB a symbol, and the store is what every Airflow worker already
shares. They are keyed by the dataset version and the held-out months' start, so they
are made on the very rows `train` would fit on, by the same per-symbol function
(`VolatilityForecaster.symbol_fits`); training then assembles each forecaster (pooled
parameters, quantiles) exactly as after fitting in its own process.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel

from market_predictor.config import Settings

if TYPE_CHECKING:
    from market_predictor.models.volatility import SymbolFit

Fits = dict[str, dict[str, "SymbolFit | None"]]  # rival kind -> symbol -> its fit


class FitBatch(BaseModel):
    """One mapped fit task's work: `symbols`' rows of the dataset before `fitted_before`."""

    dataset_version: int
    fitted_before: dt.date
    symbols: list[str]


def volatility_rivals(settings: Settings) -> list[str]:
    """The configured rivals that fit per symbol."""
    from market_predictor.models.rivals import VOLATILITY_FORECASTERS

    return [name for name in settings.rivals if name in VOLATILITY_FORECASTERS]


def plan_batches(
    settings: Settings, *, symbols: Sequence[str], end: dt.date, batch_size: int
) -> list[FitBatch]:
    """The training dataset of `symbols` up to `end` (made, or reused: the one training
    will read), its symbols in batches of `batch_size`, fitted before the start of the
    held-out months. Drops the fits of every other dataset or window."""
    from market_predictor.store import FeatureStore
    from market_predictor.training import evaluate, history

    config = history.merged_config(settings)
    dataset, rows = history.training_dataset(settings, config, symbols, None, end, None)
    fitted_before = evaluate.held_out_windows(rows, config).stopping_start
    FeatureStore.from_settings(settings).rival_fits.keep_only(dataset.version, fitted_before)
    names = list(dataset.symbols)
    return [
        FitBatch(
            dataset_version=dataset.version,
            fitted_before=fitted_before,
            symbols=names[first : first + batch_size],
        )
        for first in range(0, len(names), batch_size)
    ]


def fit_batch(settings: Settings, batch: FitBatch) -> int:
    """Fit every configured volatility rival on the batch's symbols (on MPP_FIT_WORKERS
    processes) and store the fits, replacing the batch's earlier ones; the fit count."""
    from market_predictor.models.rivals import VOLATILITY_FORECASTERS
    from market_predictor.store import FeatureStore

    store = FeatureStore.from_settings(settings)
    rows = store.datasets.read_symbols(batch.dataset_version, batch.symbols)
    fitting = rows[pd.to_datetime(rows["date"]) < pd.Timestamp(batch.fitted_before)]
    count = 0
    for kind in volatility_rivals(settings):
        rival = VOLATILITY_FORECASTERS[kind](horizons=settings.horizons)
        fits = rival.symbol_fits(fitting, workers=settings.fit_workers)
        store.rival_fits.write(
            _as_rows(kind, fits, batch),
            dataset_version=batch.dataset_version,
            fitted_before=batch.fitted_before,
            kind=kind,
            symbols=batch.symbols,
        )
        count += len(fits)
    return count


def stored_fits(settings: Settings, dataset_version: int, fitted_before: dt.date) -> Fits:
    """Every configured volatility rival's stored fits on the dataset before
    `fitted_before` (a kind with none: empty, which the forecaster refuses unless no
    symbol had enough returns to fit)."""
    from market_predictor.models.volatility import SymbolFit
    from market_predictor.store import FeatureStore

    frame = FeatureStore.from_settings(settings).rival_fits.fits(dataset_version, fitted_before)
    fits: Fits = {kind: {} for kind in volatility_rivals(settings)}
    for row in frame.itertuples(index=False):
        standardised = {
            int(h): np.asarray(values, dtype="float64")
            for h, values in zip(row.horizons, row.standardised, strict=True)
        }
        params = None if row.params is None else json.loads(str(row.params))
        fit = None if params is None else SymbolFit(params, standardised)
        fits.setdefault(str(row.kind), {})[str(row.symbol)] = fit
    return fits


def _as_rows(kind: str, fits: Mapping[str, SymbolFit | None], batch: FitBatch) -> pd.DataFrame:
    """One row per symbol; floats go through JSON (repr: exact) and float64 lists."""
    records = []
    for symbol, fit in fits.items():
        horizons = sorted(fit.standardised) if fit is not None else []
        records.append(
            {
                "symbol": symbol,
                "dataset_version": batch.dataset_version,
                "fitted_before": batch.fitted_before,
                "kind": kind,
                "params": None if fit is None else json.dumps(fit.params),
                "horizons": horizons,
                "standardised": [fit.standardised[h].tolist() for h in horizons] if fit else [],
            }
        )
    columns = ["symbol", "dataset_version", "fitted_before", "kind", "params"]
    return pd.DataFrame(records, columns=[*columns, "horizons", "standardised"])

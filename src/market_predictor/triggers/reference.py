"""The drift reference a model stores (its spec's `drift_profile`): per symbol, and pooled
for symbols it never saw, the quintile bins of each model input over the training years
a retrain would replace, the drift null measured on its own windows, and the scale null.

Stored as the plain dict `DriftReference.to_dict` writes (the layout every registered
model has stored since issue 9); `DriftReference.from_dict` reads any stored one back,
and reads as no current reference what this code cannot test against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from market_predictor.triggers.drift import (
    DRIFT_INPUTS,
    DRIFT_WINDOW,
    Bins,
    model_inputs,
    profile,
    window_ratios,
)
from market_predictor.triggers.scale import (
    SCALE_INPUT,
    SCALE_WINDOW,
    ScaleReference,
    scale_null,
)

REFERENCE_VERSION = 2  # version 1: the PSI profile of models trained before issue 9
REFERENCE_DAYS = 504  # two trading years: the training years a retrain would replace


class DriftReference(BaseModel):
    """What the drift and scale tests compare a symbol's last days with."""

    model_config = ConfigDict(frozen=True)

    version: int = REFERENCE_VERSION
    inputs: list[str]
    window: int  # days of inputs each drift test reads
    reference_days: int | None = None  # rows per symbol profiled (None: not recorded)
    symbols: dict[str, dict[str, Bins]]  # symbol -> input -> bins
    pooled: dict[str, Bins]  # input -> bins over every profiled symbol's rows
    # Per input, the mean (>= 1) and variance of the statistic per degree of freedom on
    # the reference's own windows; no dispersion: stored before it was measured.
    inflation: dict[str, float]
    dispersion: dict[str, float] | None = None
    scale: ScaleReference | None = None  # None: stored before the scale test
    first_date: str | None = None  # ISO dates of the profiled rows
    last_date: str | None = None

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any] | None) -> DriftReference | None:
        """The reference a model stored, or None when it has no current one: models
        trained before issue 9 stored a PSI profile, one without enough history `{}`."""
        if stored is None or stored.get("version") != REFERENCE_VERSION:
            return None
        return cls.model_validate(stored)

    def to_dict(self) -> dict[str, Any]:
        """The stored layout (the keys a field left unset never had are left out)."""
        return self.model_dump(exclude_none=True)


def build_reference(
    features: pd.DataFrame,
    reference_days: int = REFERENCE_DAYS,
    window: int = DRIFT_WINDOW,
) -> DriftReference | None:
    """Per symbol (and pooled, for new symbols) the quintile bins of each input over its
    last `reference_days` rows, and per input the mean (inflation) and variance
    (dispersion) of the chi-square statistic per degree of freedom on `window`-day
    windows; None when no symbol has two windows of rows."""
    inputs = model_inputs(features)
    recent = inputs.groupby("symbol", sort=False).tail(reference_days)
    profiles: dict[str, dict[str, Bins]] = {}
    ratios: dict[str, list[float]] = {name: [] for name in DRIFT_INPUTS}
    for symbol, rows in recent.groupby("symbol", sort=False):
        if len(rows) < 2 * window:
            continue
        profiles[str(symbol)] = {}
        for name in DRIFT_INPUTS:
            values = rows[name].to_numpy(dtype="float64")
            bins = profile(values)
            profiles[str(symbol)][name] = bins
            ratios[name] += window_ratios(values, bins, window)
    if not profiles:
        return None
    scales = {
        str(symbol): rows[SCALE_INPUT].to_numpy(dtype="float64")
        for symbol, rows in recent.groupby("symbol", sort=False)
        if str(symbol) in profiles
    }
    return DriftReference(
        inputs=list(DRIFT_INPUTS),
        window=window,
        reference_days=reference_days,
        symbols=profiles,
        pooled={name: profile(recent[name].to_numpy(dtype="float64")) for name in DRIFT_INPUTS},
        # Every profiled symbol has at least one window of every input.
        inflation={name: max(1.0, float(np.mean(v))) for name, v in ratios.items()},
        dispersion={name: float(np.var(v, ddof=1)) for name, v in ratios.items() if len(v) > 1},
        scale=ScaleReference(
            input=SCALE_INPUT,
            window=SCALE_WINDOW,
            symbols={symbol: scale_null([values]) for symbol, values in scales.items()},
            pooled=scale_null(list(scales.values())),
        ),
        first_date=recent["date"].min().date().isoformat(),
        last_date=recent["date"].max().date().isoformat(),
    )


def drift_reference(
    features: pd.DataFrame,
    reference_days: int = REFERENCE_DAYS,
    window: int = DRIFT_WINDOW,
) -> dict[str, Any]:
    """What a model stores for drift (build_reference's dict; `{}`: nothing to profile)."""
    reference = build_reference(features, reference_days, window)
    return {} if reference is None else reference.to_dict()

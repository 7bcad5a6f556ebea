"""Scale: the mean high-low range of the last SCALE_WINDOW days over the previous day's
21-day volatility (the scale the served interval was built on), one-sided against the
same statistic over the reference's own windows of that length: the interval is too
narrow for what the market is doing this week.

The null is measured like the drift null, on the reference's own windows: the log of the
window mean over every reference window of SCALE_WINDOW days is treated as normal with
the mean and spread measured there (overlapping windows, so the spread includes the
days' dependence).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import special

from market_predictor.triggers.base import Evidence, TriggerTest, present
from market_predictor.triggers.critical import normal_critical

if TYPE_CHECKING:
    from market_predictor.triggers.reference import DriftReference

SCALE_INPUT = "range_z"  # the most efficient daily scale measure the model sees
# A trading week: the served interval lags a level change by its 21-day window, so the
# excess is largest in the first days after a break and gone in about three weeks.
SCALE_WINDOW = 5


class ScaleNull(BaseModel):
    """Mean and standard deviation of the log window-mean over the reference's windows."""

    model_config = ConfigDict(frozen=True)

    mean: float
    sd: float


class ScaleReference(BaseModel):
    """The scale test's part of a drift reference: its input and window, and the null
    per symbol and pooled (for symbols the reference never saw)."""

    model_config = ConfigDict(frozen=True)

    input: str
    window: int
    symbols: dict[str, ScaleNull]
    pooled: ScaleNull


def window_log_means(values: np.ndarray, window: int) -> np.ndarray:
    """The log of the mean of every `window` consecutive values (non-positive means,
    a run of zero ranges, are dropped)."""
    if values.size < window:
        return np.empty(0)
    sums = np.cumsum(np.concatenate([[0.0], values]))
    means = (sums[window:] - sums[:-window]) / window
    return np.log(means[means > 0])


def scale_null(series: Sequence[np.ndarray]) -> ScaleNull:
    """Mean and spread of the log window-mean over every SCALE_WINDOW-day window of the
    reference (each series a symbol's rows in date order): overlapping windows, so
    the spread includes the days' dependence, as the drift inflation does."""
    logs = np.concatenate([window_log_means(v[np.isfinite(v)], SCALE_WINDOW) for v in series])
    return ScaleNull(mean=float(logs.mean()), sd=float(logs.std(ddof=1)))


def scale_test(
    scale: ScaleReference,
    inputs: pd.DataFrame | Mapping[str, np.ndarray],
    symbol: str,
    level: float,
) -> TriggerTest | None:
    """One-sided test that the last `scale.window` days' mean range, in units of the
    volatility the interval was scaled by, is above what the reference's own windows
    of that length show at `level`. None without a full window."""
    null = scale.symbols.get(symbol, scale.pooled)
    values = np.asarray(inputs[scale.input], dtype="float64")
    values = values[np.isfinite(values)][-scale.window :]
    if values.size < scale.window:
        return None
    statistic = float(values.mean())
    critical = math.exp(null.mean + normal_critical(level) * null.sd)
    fired = statistic > critical
    if null.sd > 0 and statistic > 0:
        p_value = float(special.ndtr((null.mean - math.log(statistic)) / null.sd))
    else:
        p_value = 0.0 if fired else 1.0  # a reference whose weeks never varied
    return TriggerTest(
        test=f"scale:{scale.input}",
        statistic=statistic,
        threshold=f"> {critical:.3g}",
        window=int(values.size),
        p_value=p_value,
        fired=fired,
    )


class ScaleTrigger:
    """One scale test per symbol when the champion's reference measured its null
    (references stored before the scale test have none)."""

    name = "scale"
    per_horizon = False

    def count(self, reference: DriftReference | None) -> int:
        return int(reference is not None and reference.scale is not None)

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        if reference is None or reference.scale is None or evidence.inputs is None:
            return []
        return present(scale_test(reference.scale, evidence.inputs, symbol, level))

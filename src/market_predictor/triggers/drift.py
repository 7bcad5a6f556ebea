"""Drift: for each input as the model sees it, normalised by volatility as its output is
(return, gap and range over the previous day's 21-day volatility, the 5/21-day volatility
ratio, volume change), a chi-square statistic of the last DRIFT_WINDOW days' counts in
the quintile bins of the champion's most recent training years (reference.py).

Days are serially dependent (volatility clusters, features overlap), so the statistic's
null is not chi-square: it is measured on the reference's own windows of that length (a
moving-block estimate, `window_ratios`), as the mean (the inflation) and variance (the
dispersion) of their statistic per degree of freedom. The threshold is the quantile of
the scaled chi-square with that mean and variance (Satterthwaite; Rao-Scott's
second-order correction), never below the inflation times the chi-square quantile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import special

from market_predictor.triggers.base import Evidence, TriggerTest
from market_predictor.triggers.critical import chi2_critical

if TYPE_CHECKING:
    from market_predictor.triggers.reference import DriftReference

DRIFT_INPUTS = (
    "return_z",
    "gap_z",
    "range_z",
    "volatility_ratio",
    "volume_change",
)
DRIFT_WINDOW = 20  # trading days of inputs compared with the reference
BINS = 5  # quintiles: at 20 days, 4 expected per bin
STRIDE = 5  # step between the reference's own windows when measuring the null


class Bins(BaseModel):
    """One input's profile: the inner bin edges (a value on an edge counts in the bin
    above it) and the share of the reference's values in each of the edges + 1 bins."""

    model_config = ConfigDict(frozen=True)

    edges: list[float]
    fractions: list[float]


def model_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """symbol, date and the DRIFT_INPUTS: the inputs on the scale the model uses them
    (volatility-normalised), one row per complete feature row."""
    by_symbol = features.groupby("symbol", sort=False)
    previous_volatility = by_symbol["volatility_21"].shift(1)
    volatility = features["volatility_21"]
    frame = pd.DataFrame(
        {
            "symbol": features["symbol"],
            "date": pd.to_datetime(features["date"]),
            "return_z": features["log_return"] / previous_volatility,
            "gap_z": features["overnight_gap"] / previous_volatility,
            "range_z": features["high_low_range"] / previous_volatility,
            "volatility_ratio": features["volatility_5"] / volatility,
            "volume_change": features["volume_change"],
        }
    )
    values = frame[list(DRIFT_INPUTS)].replace([np.inf, -np.inf], np.nan)
    return frame[values.notna().all(axis=1).to_numpy()].reset_index(drop=True)


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)


def chi_square(values: np.ndarray, edges: np.ndarray, fractions: np.ndarray) -> float:
    expected = np.clip(fractions, 1e-6, None) * values.size
    counts = _bin_counts(values, edges)
    return float(np.sum((counts - expected) ** 2 / expected))


def profile(values: np.ndarray) -> Bins:
    """The quintile bins of `values` (tied quintiles merged into one edge)."""
    edges = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1]))
    fractions = _bin_counts(values, edges) / values.size
    return Bins(edges=edges.tolist(), fractions=fractions.tolist())


def window_ratios(values: np.ndarray, bins: Bins, window: int) -> list[float]:
    """The statistic per degree of freedom (one per bin edge) of every full `window`-day
    window of `values`, one every STRIDE days, against `bins`: the null's sample."""
    edges = np.asarray(bins.edges)
    fractions = np.asarray(bins.fractions)
    dof = max(1, edges.size)
    return [
        chi_square(values[start : start + window], edges, fractions) / dof
        for start in range(0, values.size - window + 1, STRIDE)
    ]


def drift_tests(
    reference: DriftReference,
    inputs: pd.DataFrame | Mapping[str, np.ndarray],
    symbol: str,
    level: float,
) -> list[TriggerTest]:
    """One chi-square test per input on `inputs` (one symbol's last `window` rows)."""
    profiles = reference.symbols.get(symbol, reference.pooled)
    dispersions = reference.dispersion or {}
    results = []
    for name in reference.inputs:
        values = np.asarray(inputs[name], dtype="float64")
        values = values[np.isfinite(values)]
        if values.size < reference.window // 2:
            continue
        edges = np.asarray(profiles[name].edges)
        fractions = np.asarray(profiles[name].fractions)
        dof = max(1, edges.size)
        inflation = float(reference.inflation.get(name, 1.0))
        statistic = chi_square(values, edges, fractions)
        critical = inflation * chi2_critical(level, dof)
        p_value = float(special.chdtrc(dof, statistic / inflation))  # stats.chi2.sf
        dispersion = dispersions.get(name)
        if dispersion:
            scale, shape = _scaled_chi2(inflation, float(dispersion), dof)
            critical = max(critical, scale * chi2_critical(level, shape))
            p_value = max(p_value, float(special.chdtrc(shape, statistic / scale)))
        results.append(
            TriggerTest(
                test=f"drift:{name}",
                statistic=statistic,
                threshold=f"> {critical:.3g}",
                window=int(values.size),
                p_value=p_value,
                fired=statistic > critical,
            )
        )
    return results


def _scaled_chi2(mean_ratio: float, ratio_variance: float, dof: int) -> tuple[float, float]:
    """Satterthwaite's c * chi-square(nu) matching the mean and variance of the statistic
    (its ratio to `dof` has `mean_ratio` and `ratio_variance` on the reference's windows):
    Rao and Scott's second-order correction of a chi-square test on dependent data."""
    mean = dof * mean_ratio
    variance = dof * dof * ratio_variance
    return variance / (2.0 * mean), 2.0 * mean * mean / variance


class DriftTrigger:
    """One drift test per input the champion's reference profiles."""

    name = "drift"
    per_horizon = False

    def count(self, reference: DriftReference | None) -> int:
        return 0 if reference is None else len(reference.inputs)

    def run(
        self, evidence: Evidence, reference: DriftReference | None, symbol: str, level: float
    ) -> list[TriggerTest]:
        if reference is None or evidence.inputs is None:
            return []
        return drift_tests(reference, evidence.inputs, symbol, level)

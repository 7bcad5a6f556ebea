"""Forecast metrics, always computed beside the persistence forecast on the same rows.

Input rows are forecasts with their outcome: `last_close` (the close known at the
as-of date), `actual_close`, `predicted_close`, `lower`, `upper`. Pinball loss is
taken on log returns so symbols at different price levels weigh the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
METRIC_NAMES = (
    "n",
    "mae",
    "rmse",
    "mape",
    "mase",
    "directional_accuracy",
    "coverage",
    "pinball",
)


def pinball_loss(actual: np.ndarray, predictions: np.ndarray, quantiles: Sequence[float]) -> float:
    """Mean pinball (quantile) loss; `predictions` has one column per quantile."""
    actual = np.asarray(actual, dtype="float64").reshape(-1, 1)
    predictions = np.asarray(predictions, dtype="float64")
    levels = np.asarray(quantiles, dtype="float64").reshape(1, -1)
    diff = actual - predictions
    return float(np.mean(np.maximum(levels * diff, (levels - 1) * diff)))


def mase(mae: float, persistence_mae: float) -> float:
    """MAE relative to persistence's on the same rows (< 1 beats it; NaN when undefined)."""
    return mae / persistence_mae if persistence_mae > 0 else float("nan")


def long_run_variance(values: np.ndarray, horizon: int = 1) -> float:
    """Newey-West (Bartlett) long-run variance of a series of h-step forecast losses or
    errors, with lag h-1: consecutive h-day outcomes overlap by h-1 days, so their
    errors are correlated up to that lag, and the plain variance understates how much
    their mean wanders (by about h times for 21-day errors). Lag 0 at h=1."""
    centred = np.asarray(values, dtype="float64") - np.mean(values)
    n = centred.size
    variance = float(centred @ centred) / n
    for lag in range(1, min(horizon, n)):
        weight = 1.0 - lag / horizon
        variance += 2.0 * weight * float(centred[lag:] @ centred[:-lag]) / n
    return variance


def forecast_metrics(
    rows: pd.DataFrame, quantiles: Sequence[float] = DEFAULT_QUANTILES
) -> dict[str, float]:
    """MAE, RMSE, MAPE (%), MASE vs persistence, directional accuracy, interval
    coverage and pinball loss over `rows`."""
    if rows.empty:
        return {name: float("nan") for name in METRIC_NAMES} | {"n": 0}
    actual = rows["actual_close"].to_numpy(dtype="float64")
    predicted = rows["predicted_close"].to_numpy(dtype="float64")
    last = rows["last_close"].to_numpy(dtype="float64")
    lower = rows["lower"].to_numpy(dtype="float64")
    upper = rows["upper"].to_numpy(dtype="float64")
    error = predicted - actual
    persistence_mae = float(np.mean(np.abs(last - actual)))
    mae = float(np.mean(np.abs(error)))

    predicted_move = np.sign(predicted - last)
    actual_move = np.sign(actual - last)
    # A forecast of "no change" calls no direction, so it is left out of the ratio.
    called = predicted_move != 0
    directional = (
        float(np.mean(predicted_move[called] == actual_move[called]))
        if called.any()
        else float("nan")
    )

    returns = np.log(actual / last)
    quantile_returns = np.log(np.column_stack([lower, predicted, upper]) / last[:, None])
    return {
        "n": len(rows),
        "mae": mae,
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": float(np.mean(np.abs(error) / np.abs(actual)) * 100),
        "mase": mase(mae, persistence_mae),
        "directional_accuracy": directional,
        "coverage": float(np.mean((actual >= lower) & (actual <= upper))),
        "pinball": pinball_loss(returns, quantile_returns, _interval_levels(quantiles)),
    }


def metrics_table(
    rows: pd.DataFrame,
    by: str = "symbol",
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    pooled: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Metrics per group and an `ALL` row over `pooled` (by default every row)."""
    records = [
        {by: key, **forecast_metrics(group, quantiles)}
        for key, group in rows.groupby(by, sort=True)
    ]
    everyone = rows if pooled is None else pooled
    records.append({by: "ALL", **forecast_metrics(everyone, quantiles)})
    return pd.DataFrame.from_records(records)


def _interval_levels(quantiles: Sequence[float]) -> tuple[float, float, float]:
    ordered = sorted(quantiles)
    return ordered[0], 0.5, ordered[-1]

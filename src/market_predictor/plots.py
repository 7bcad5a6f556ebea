"""Validation plots logged with every training run: predicted vs actual closes with
the interval band, and the residuals beside the persistence forecast's."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: runs on servers and in CI

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

_MAX_PANELS = 6


def forecast_figure(rows: pd.DataFrame, title: str = "Validation forecasts") -> Figure:
    """One panel per symbol (up to six): actual close, median forecast, 10-90% band.

    `rows` are forecasts with outcomes: symbol, target_date, actual_close,
    predicted_close, lower, upper.
    """
    symbols = sorted(rows["symbol"].unique())[:_MAX_PANELS]
    figure, axes = plt.subplots(
        max(len(symbols), 1), 1, figsize=(10, 2.6 * max(len(symbols), 1)), squeeze=False
    )
    for axis, symbol in zip(axes[:, 0], symbols, strict=False):
        group = rows[rows["symbol"] == symbol].sort_values("target_date")
        dates = pd.to_datetime(group["target_date"])
        axis.fill_between(dates, group["lower"], group["upper"], alpha=0.25, label="10-90% band")
        axis.plot(dates, group["actual_close"], color="black", linewidth=1, label="actual")
        axis.plot(dates, group["predicted_close"], linewidth=1, label="predicted (median)")
        axis.set_title(symbol, fontsize=9)
        axis.legend(loc="upper left", fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def residuals_figure(rows: pd.DataFrame, title: str = "Validation residuals") -> Figure:
    """Log-return residuals over time and their histogram, beside persistence's."""
    import numpy as np

    ordered = rows.sort_values("target_date")
    model = np.log(ordered["actual_close"] / ordered["predicted_close"])
    persistence = np.log(ordered["actual_close"] / ordered["last_close"])
    figure, (over_time, histogram) = plt.subplots(1, 2, figsize=(11, 3.5))
    over_time.scatter(pd.to_datetime(ordered["target_date"]), model, s=3)
    over_time.axhline(0.0, color="black", linewidth=0.8)
    over_time.set_ylabel("log(actual / predicted)")
    bins = np.linspace(min(model.min(), persistence.min()), max(model.max(), persistence.max()), 50)
    histogram.hist(persistence, bins=bins, alpha=0.5, label="persistence")
    histogram.hist(model, bins=bins, alpha=0.5, label="model")
    histogram.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return figure

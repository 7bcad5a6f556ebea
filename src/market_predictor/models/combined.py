"""The combined candidate: the quantile average ("Vincentization") of fitted forecasters,
and the rule that chooses which.

Combining forecasts is the most reliable gain in the forecasting literature, and equal
weights are hard to beat out of sample (estimated weights add their own noise: the
"forecast combination puzzle", Smith & Wallis 2009). For quantiles the natural average
is of the quantile functions (Vincentization, Ratcliff 1979; Lichtendahl, Grushka-Cockayne
& Winkler 2013): the combined q-quantile is the mean of the components' q-quantiles. It
keeps a location-scale family's shape and, unlike averaging probabilities, does not
widen the interval beyond its components'.

The rule (`best_partner`): the network and the single rival with the lowest gate
score on the early-stopping months, two components with equal weights. Why these two:
a combination gains where its components' errors differ, and the network's (a learned
median and interval) differ most from a volatility model's or persistence's, while two
volatility models share theirs. Why on the early-stopping months: the gate's window
must stay unseen by every contestant, the combination's choice included. A rival that
forecasts fewer of those rows than the network is not a candidate (it would be
compared on fewer rows); a tie goes to the first in the gate's rival order.

Each component contributes what it would serve itself (`Forecaster.served_quantiles`:
sorted, its own calibration applied); the average of sorted quantiles is sorted, and
the combination adds no calibration of its own. A row is forecast when every component
can forecast it (`min_history` is the largest), and the daily job reads as much
history as the component that needs most (`read_rows`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from market_predictor.models.forecaster import Forecaster


def best_partner(scores: Mapping[str, float], lead: str, candidates: Sequence[str]) -> str:
    """The candidate to combine with `lead`: the one with the lowest score (the first
    in `candidates` order among equal ones). A candidate without a finite score is never
    chosen; ValueError when none has one."""
    best: str | None = None
    for name in candidates:
        if name == lead or name not in scores or not math.isfinite(scores[name]):
            continue
        if best is None or scores[name] < scores[best]:
            best = name
    if best is None:
        raise ValueError(f"no rival to combine with {lead}: none was scored")
    return best


class CombinedForecaster(Forecaster):
    """Equal-weight quantile average of `components` (name -> fitted forecaster), which
    must share their quantile levels and horizons."""

    is_baseline = False

    def __init__(
        self,
        components: Mapping[str, Forecaster],
        *,
        selection: Mapping[str, float] | None = None,
        selected_on: Sequence[str] = (),
    ) -> None:
        if len(components) < 2:
            raise ValueError("a combination needs at least two components")
        first = next(iter(components.values()))
        for name, component in components.items():
            if (component.quantiles, component.horizons) != (first.quantiles, first.horizons):
                raise ValueError(
                    f"component {name} forecasts levels {component.quantiles} at horizons "
                    f"{component.horizons}, not {first.quantiles} at {first.horizons}"
                )
        self.components = dict(components)
        self.quantiles = first.quantiles
        self.horizons = first.horizons
        # Each candidate's score on the months the components were chosen on, and those
        # months (first and last day): provenance for the model card.
        self.selection = {name: float(score) for name, score in (selection or {}).items()}
        self.selected_on = [str(day) for day in selected_on]

    @property
    def min_history(self) -> int:
        return max(component.min_history for component in self.components.values())

    @property
    def read_rows(self) -> int:
        return max(component.read_rows for component in self.components.values())

    def quantile_returns(self, features: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        served = [c.served_quantiles(features, rows) for c in self.components.values()]
        return np.mean(served, axis=0)

    def horizon_quantiles(
        self, features: pd.DataFrame, rows: np.ndarray, horizon: int
    ) -> np.ndarray:
        return self.quantile_returns(features, rows)[:, self.horizons.index(horizon)]

    def to_params(self) -> dict[str, Any]:
        """The combination's own parameters; the components' are saved beside them
        (models/pyfunc.py)."""
        return {
            "quantiles": list(self.quantiles),
            "horizons": list(self.horizons),
            "components": list(self.components),
            "selection": self.selection,
            "selected_on": self.selected_on,
        }

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], components: Mapping[str, Forecaster]
    ) -> CombinedForecaster:
        return cls(
            {name: components[name] for name in params["components"]},
            selection=params.get("selection"),
            selected_on=params.get("selected_on", ()),
        )

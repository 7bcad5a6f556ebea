"""The accuracy benchmark's scores: every forecaster served as the daily job serves it,
then scored per forecaster, horizon and symbol (no fitting, no IO)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from bench import accuracy_stats as stats
from market_predictor.config import Settings
from market_predictor.online_calibration import OnlineRule, simulate

PERSISTENCE = "persistence"
# The forecasters issue 19 names "volatility rivals" (when the run has them).
VOLATILITY = ("garch", "gjr_garch", "egarch", "har")


def served(
    static: pd.DataFrame, quantiles: Iterable[float], rule: OnlineRule | None = None
) -> pd.DataFrame:
    """The forecasts as the daily job serves them: the online scale of the production
    settings (or `rule`), reset at each refit, for every forecaster alike."""
    rule = rule or OnlineRule.for_quantiles(tuple(quantiles), Settings().online_eta)
    return simulate(static.drop(columns=["lower_static", "upper_static"], errors="ignore"), rule)


def score_table(forecasts: pd.DataFrame) -> pd.DataFrame:
    """One row per forecaster, horizon and symbol (and "ALL"): n, MASE, pinball (served
    and static), coverage (served and static), interval score."""
    records = []
    for (name, horizon), rows in forecasts.groupby(["forecaster", "horizon"], sort=False):
        groups = [*rows.groupby("symbol", sort=True), ("ALL", rows)]
        for symbol, mine in groups:
            last = mine["last_close"].to_numpy(dtype="float64")
            actual = mine["actual_close"].to_numpy(dtype="float64")
            median = mine["predicted_close"].to_numpy(dtype="float64")
            records.append(
                {
                    "forecaster": name,
                    "horizon": int(horizon),
                    "symbol": symbol,
                    "n": len(mine),
                    "mase": np.abs(median - actual).mean() / np.abs(last - actual).mean(),
                    "pinball": stats.row_pinball(mine).mean(),
                    "pinball_static": stats.row_pinball(mine, static=True).mean(),
                    "coverage": stats.row_inside(mine).mean(),
                    "coverage_static": stats.row_inside(mine, static=True).mean(),
                    "interval_score": stats.row_interval_score(mine).mean(),
                }
            )
    table = pd.DataFrame.from_records(records)
    persistence = table[table["forecaster"] == PERSISTENCE].set_index(["horizon", "symbol"])
    keys = pd.MultiIndex.from_frame(table[["horizon", "symbol"]])
    table["vs_persistence"] = table["pinball"].to_numpy() / persistence["pinball"].reindex(
        keys
    ).to_numpy(dtype="float64")
    table["vs_persistence_static"] = table["pinball"].to_numpy() / persistence[
        "pinball_static"
    ].reindex(keys).to_numpy(dtype="float64")
    return table


@dataclass(frozen=True)
class Run:
    """A walk-forward's served forecasts, their scores and what they cover."""

    forecasts: pd.DataFrame
    network: str
    names: list[str]
    symbols: list[str]
    horizons: list[int]

    @classmethod
    def of(cls, static: pd.DataFrame, meta: dict[str, Any]) -> Run:
        forecasts = served(static, meta["quantiles"])
        present = set(forecasts["forecaster"])
        return cls(
            forecasts=forecasts,
            network=meta["network"],
            names=[n for n in meta["forecasters"] if n in present],
            symbols=list(meta["symbols"]),
            horizons=[int(h) for h in meta["horizons"]],
        )

    @cached_property
    def table(self) -> pd.DataFrame:
        return score_table(self.forecasts)

    @property
    def rivals(self) -> list[str]:
        return [n for n in VOLATILITY if n in self.names]

    def cell(self, name: str, horizon: int, symbol: str, key: str) -> float:
        return cell(self.table, name, horizon, symbol, key)

    def rows(self, name: str, horizon: int, symbol: str) -> pd.DataFrame:
        """One forecaster's forecasts of a symbol at a horizon, in as-of order."""
        f = self.forecasts
        mine = f[(f["forecaster"] == name) & (f["horizon"] == horizon) & (f["symbol"] == symbol)]
        return mine.sort_values("as_of_date")

    def paired(
        self, name: str, rival: str, horizon: int, symbol: str
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Two forecasters' forecasts on the as-of days both made."""
        mine, theirs = (self.rows(n, horizon, symbol) for n in (name, rival))
        days = sorted(set(mine["as_of_date"]) & set(theirs["as_of_date"]))
        return (
            mine.set_index("as_of_date").loc[days].reset_index(),
            theirs.set_index("as_of_date").loc[days].reset_index(),
        )

    def half_years(self, name: str, horizon: int) -> pd.DataFrame:
        """Coverage and count per symbol and calendar half-year of the as-of date."""
        f = self.forecasts
        rows = f[(f["forecaster"] == name) & (f["horizon"] == horizon)]
        frame = pd.DataFrame(
            {
                "symbol": rows["symbol"].to_numpy(),
                "half": stats.half_year(rows["as_of_date"]).to_numpy(),
                "inside": stats.row_inside(rows),
            }
        )
        return (
            frame.groupby(["symbol", "half"])["inside"]
            .agg(coverage="mean", n="size")
            .reset_index()
            .sort_values(["symbol", "half"])
        )


def cell(table: pd.DataFrame, name: str, horizon: int, symbol: str, key: str) -> float:
    row = table[
        (table["forecaster"] == name) & (table["horizon"] == horizon) & (table["symbol"] == symbol)
    ]
    return float(row.iloc[0][key]) if not row.empty else float("nan")


def median_reading(run: Run, name: str, horizon: int, symbol: str) -> str:
    """Whether `name`'s median beats no-change on a symbol: `same` (it is the last close
    every day), else its MASE, the Diebold-Mariano p-value of its absolute errors against
    persistence's, and better / no better / worse at 5%."""
    mine, theirs = run.paired(name, PERSISTENCE, horizon, symbol)
    error = np.abs(mine["predicted_close"] - mine["actual_close"]).to_numpy()
    naive = np.abs(theirs["predicted_close"] - theirs["actual_close"]).to_numpy()
    if np.array_equal(error, naive):
        return "same"
    difference, p = stats.diebold_mariano(error, naive, horizon)
    reading = "no better"
    if p < 0.05:
        reading = "better" if difference < 0 else "worse"
    return f"MASE {error.mean() / naive.mean():.3f}, p {p:.2f}: {reading}"

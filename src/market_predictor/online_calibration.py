"""Online recalibration of the served interval: adaptive conformal inference (Gibbs &
Candes 2021) in multiplicative-scale form. Pure numpy/pandas, no I/O.

Per (symbol, horizon) each tail of the interval carries a log scale factor s, 0 at the
start of every model version. After a realised error it moves by

    s <- clip(s + eta_h * (miss - level), -MAX_LOG_SCALE, +MAX_LOG_SCALE)

where `miss` is 1 when the close fell outside that tail of the *served* (already scaled)
interval and `level` is the tail's nominal miss rate (0.1 for the 10% quantile). A miss
widens the tail by about eta_h*(1 - level), a hit narrows it by eta_h*level, so the scale
settles where the tail misses at its nominal rate: the standard ACI fixed point, reached
whatever the forecaster's own calibration was. It is online gradient descent of each
tail's pinball loss in the log scale, and the P term of conformal PID control
(Angelopoulos, Candes & Tibshirani 2023, "quantile tracking"); the clip plays their
integrator's saturation, and the forecasters' own volatility models their scorecaster.
The scale acts on log returns around the median, which never moves:

    lower' = median * (lower / median) ** exp(s_lower)      (and the same for upper)

The step shrinks with the horizon: eta_h = eta / sqrt(h). An h-day error is known only h
days after its forecast, and consecutive h-day errors share h-1 days of outcome, so each
carries less new information than a next-day one, arrives too late to follow a change
of volatility the forecaster's own inputs have followed already, and an undamped step
lets a single shock's run of overlapping misses widen the interval for months
(Wang & Hyndman 2024 bound the multi-step coverage error by a term growing with h).
The damping was chosen on synthetic series of varied dynamics (bench/interval_rules.py,
docs/benchmarks/interval_rules.md): 1/sqrt(h) and 1/h score the same pinball loss there,
both better than no damping, and 1/sqrt(h) keeps the rolling coverage closer to nominal.

The state is a function of the realised errors alone, taken in target-date order, so the
daily job (monitor writes it, the next day's predict reads it) and a backtest's
simulation (`simulate`) apply exactly the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from market_predictor.config import ONLINE_CALIBRATION_ETA as DEFAULT_ETA

# No run of misses or hits may scale a tail by more than 3x either way: a broken feed
# (a stale close, a split not adjusted) must not leave the interval useless for months.
MAX_LOG_SCALE = math.log(3.0)
STATE_COLUMNS = ("log_scale_lower", "log_scale_upper", "n_updates")
# The step at horizon h is eta * h ** -HORIZON_DAMPING (see the module docstring).
HORIZON_DAMPING = 0.5


@dataclass(frozen=True)
class OnlineRule:
    """The update rule's constants: the next-day step, each tail's nominal miss rate, the
    clip, and how the step shrinks with the horizon (`eta * h ** -horizon_damping`)."""

    eta: float
    lower_level: float
    upper_level: float
    bound: float = MAX_LOG_SCALE
    horizon_damping: float = HORIZON_DAMPING

    @classmethod
    def for_quantiles(cls, quantiles: Sequence[float], eta: float = DEFAULT_ETA) -> OnlineRule:
        """The rule for an interval made of the lowest and highest of `quantiles`."""
        return cls(
            eta=eta, lower_level=float(min(quantiles)), upper_level=1 - float(max(quantiles))
        )

    @property
    def active(self) -> bool:
        return self.eta > 0

    def at(self, horizon: int) -> OnlineRule:
        """The rule of h-day forecasts: the same levels and clip, the step damped."""
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {horizon}")
        return replace(self, eta=self.eta * float(horizon) ** -self.horizon_damping)


def step(log_scale: float, miss: bool, level: float, eta: float, bound: float) -> float:
    """One ACI update of one tail's log scale."""
    return min(bound, max(-bound, log_scale + eta * (float(miss) - level)))


def scaled_bound(
    median: np.ndarray, bound: np.ndarray, log_scale: np.ndarray | float
) -> np.ndarray:
    """An interval bound moved away from (s > 0) or towards (s < 0) the median in
    log-return space; a log scale of 0 leaves it exactly as it was."""
    median = np.asarray(median, dtype="float64")
    bound = np.asarray(bound, dtype="float64")
    factor = np.exp(np.asarray(log_scale, dtype="float64"))
    return np.where(factor == 1.0, bound, median * (bound / median) ** factor)


def scale_interval(forecasts: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """Forecasts (symbol, optional horizon, predicted_close, lower, upper) with each
    (symbol, horizon)'s state applied; a forecast without a state keeps its interval."""
    frame = forecasts.copy()
    horizon = frame["horizon"] if "horizon" in frame else pd.Series(1, index=frame.index)
    keys = pd.MultiIndex.from_arrays([frame["symbol"].astype(str), horizon.astype("int64")])
    indexed = (
        states.assign(
            symbol=states["symbol"].astype(str), horizon=states["horizon"].astype("int64")
        )
        .set_index(["symbol", "horizon"])
        .reindex(keys)
    )
    lower_scale = indexed["log_scale_lower"].fillna(0.0).to_numpy(dtype="float64")
    upper_scale = indexed["log_scale_upper"].fillna(0.0).to_numpy(dtype="float64")
    median = frame["predicted_close"].to_numpy(dtype="float64")
    frame["lower"] = scaled_bound(median, frame["lower"].to_numpy(dtype="float64"), lower_scale)
    frame["upper"] = scaled_bound(median, frame["upper"].to_numpy(dtype="float64"), upper_scale)
    return frame


def state_from_errors(errors: pd.DataFrame, rule: OnlineRule) -> pd.DataFrame:
    """The state after every realised error of one model version, per (symbol, horizon):
    `errors` holds symbol, optional horizon, target_date, actual_close and the *served*
    lower and upper; it is taken in target-date order, rows without a close skipped.
    Columns: symbol, horizon, log_scale_lower, log_scale_upper, n_updates."""
    return continue_states(_no_states(), errors, rule)


def continue_states(states: pd.DataFrame, errors: pd.DataFrame, rule: OnlineRule) -> pd.DataFrame:
    """`states` (state_from_errors' columns) moved on by later `errors`: equal, bit for
    bit, to state_from_errors of the errors behind `states` followed by these, provided
    every one of these has a later target date than its group's earlier ones."""
    frame = errors.loc[errors["actual_close"].notna()]
    if "horizon" not in frame:
        frame = frame.assign(horizon=1)
    if frame.empty:
        return states
    # One sort by integer codes: pandas' multi-key sort of text columns costs tenths of a
    # second at hundreds of thousands of rows. Target dates are unique within a group.
    codes, symbols = pd.factorize(frame["symbol"].astype(str), sort=True)
    horizons = frame["horizon"].to_numpy(dtype="int64")
    dates = frame["target_date"].to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((dates, horizons, codes))
    codes, horizons = codes[order], horizons[order]
    starts = np.flatnonzero(
        np.concatenate([[True], (codes[1:] != codes[:-1]) | (horizons[1:] != horizons[:-1])])
    )
    counts = np.diff(np.append(starts, len(order)))
    moved = pd.DataFrame(
        {"symbol": np.asarray(symbols)[codes[starts]], "horizon": horizons[starts]}
    ).merge(states, on=["symbol", "horizon"], how="left")
    actual = frame["actual_close"].to_numpy(dtype="float64")[order]
    # Each group's step is its horizon's (rule.at), computed as `step`'s callers do.
    etas = np.array([rule.at(int(horizon)).eta for horizon in horizons[starts]])
    for tail, misses in (
        ("lower", actual < frame["lower"].to_numpy(dtype="float64")[order]),
        ("upper", actual > frame["upper"].to_numpy(dtype="float64")[order]),
    ):
        start = moved[f"log_scale_{tail}"].fillna(0.0).to_numpy(dtype="float64")
        moved[f"log_scale_{tail}"] = _fold(misses, starts, counts, etas, rule, tail, start)
    moved["n_updates"] = moved["n_updates"].fillna(0).to_numpy(dtype="int64") + counts
    kept = states.merge(moved[["symbol", "horizon"]], how="left", indicator=True)
    unmoved = states.loc[(kept["_merge"] == "left_only").to_numpy()]
    both = pd.concat([unmoved, moved], ignore_index=True) if len(unmoved) else moved
    return both.sort_values(["symbol", "horizon"], ignore_index=True)[
        ["symbol", "horizon", *STATE_COLUMNS]
    ]


def _no_states() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype=str),
            "horizon": pd.Series(dtype="int64"),
            "log_scale_lower": pd.Series(dtype="float64"),
            "log_scale_upper": pd.Series(dtype="float64"),
            "n_updates": pd.Series(dtype="int64"),
        }
    )


def _fold(
    misses: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    etas: np.ndarray,
    rule: OnlineRule,
    tail: str,
    state: np.ndarray,
) -> np.ndarray:
    """`step` over each group's misses in order, from each group's `state` with the
    group's step `etas`, every group at once: one vector update per position rather
    than one Python call per realised error (a replayed year holds hundreds of
    thousands). The same float operations in the same order as `step`, so the same
    bits."""
    level = rule.lower_level if tail == "lower" else rule.upper_level
    state = state.copy()
    for position in range(int(counts.max(initial=0))):
        active = np.flatnonzero(counts > position)
        moved = state[active] + etas[active] * (misses[starts[active] + position] - level)
        state[active] = np.minimum(rule.bound, np.maximum(-rule.bound, moved))
    return state


def simulate(
    forecasts: pd.DataFrame, rule: OnlineRule, run: Sequence[str] = ("forecaster", "fold_start")
) -> pd.DataFrame:
    """A backtest's forecasts as the daily job would have served them: per `run` (one
    fitted forecaster: a reset at every refit), symbol and horizon, the forecast made as
    of day t is scaled by the state after every error whose target date is before t, the
    same errors the daily job's predict sees (monitor of the day before wrote them).
    `forecasts` holds as_of_date, target_date, actual_close, predicted_close, lower,
    upper; the unscaled interval is kept as lower_static and upper_static."""
    frame = forecasts.assign(lower_static=forecasts["lower"], upper_static=forecasts["upper"])
    if not rule.active or frame.empty:
        return frame
    if "horizon" not in frame:
        frame["horizon"] = 1
    groups = [*[c for c in run if c in frame], "symbol", "horizon"]
    columns = _Columns(
        as_of=pd.to_datetime(frame["as_of_date"]).to_numpy(dtype="datetime64[ns]"),
        target=pd.to_datetime(frame["target_date"]).to_numpy(dtype="datetime64[ns]"),
        actual=frame["actual_close"].to_numpy(dtype="float64"),
        median=frame["predicted_close"].to_numpy(dtype="float64"),
        lower=frame["lower"].to_numpy(dtype="float64").copy(),
        upper=frame["upper"].to_numpy(dtype="float64").copy(),
    )
    for key, index in frame.groupby(groups, sort=False).indices.items():
        _simulate_one(columns, index, rule.at(int(key[-1])))
    frame["lower"], frame["upper"] = columns.lower, columns.upper
    return frame


@dataclass(frozen=True)
class _Columns:
    """A backtest's forecasts as arrays; `lower` and `upper` are served in place."""

    as_of: np.ndarray
    target: np.ndarray
    actual: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _simulate_one(columns: _Columns, index: np.ndarray, rule: OnlineRule) -> None:
    """Serve and update one (run, symbol, horizon) in place, in as-of order."""
    rows = index[np.argsort(columns.as_of[index], kind="stable")]
    as_of, target = columns.as_of[rows], columns.target[rows]
    actual, median = columns.actual[rows], columns.median[rows]
    raw_lower, raw_upper = columns.lower[rows], columns.upper[rows]
    # Realised errors in target order; one is absorbed once its target is before an as-of.
    by_target = [int(i) for i in np.argsort(target, kind="stable") if not np.isnan(actual[i])]
    # How many of them are due (target before the as-of) at each position.
    due = np.searchsorted(target[by_target], as_of, side="left")
    served_lower = np.zeros(rows.size)
    served_upper = np.zeros(rows.size)
    absorbed, s_lower, s_upper = 0, 0.0, 0.0
    for position in range(rows.size):
        while absorbed < due[position]:
            done = by_target[absorbed]  # served already: its as-of is before its target
            bound = _served(median[done], raw_lower[done], served_lower[done])
            s_lower = step(s_lower, actual[done] < bound, rule.lower_level, rule.eta, rule.bound)
            bound = _served(median[done], raw_upper[done], served_upper[done])
            s_upper = step(s_upper, actual[done] > bound, rule.upper_level, rule.eta, rule.bound)
            absorbed += 1
        served_lower[position], served_upper[position] = s_lower, s_upper
    columns.lower[rows] = scaled_bound(median, raw_lower, served_lower)
    columns.upper[rows] = scaled_bound(median, raw_upper, served_upper)


def _served(median: float, bound: float, log_scale: float) -> float:
    """scaled_bound of one forecast, in scalars (the simulation's inner loop)."""
    factor = math.exp(log_scale)
    return float(bound) if factor == 1.0 else float(median * (bound / median) ** factor)


def beside_static(calibrated: pd.DataFrame, static: pd.DataFrame) -> pd.DataFrame:
    """A metrics table of calibrated forecasts with the static interval's coverage and
    pinball beside them (`coverage_static`, `pinball_static`)."""
    keys = [key for key in ("forecaster", "horizon", "symbol") if key in calibrated]
    extra = static[[*keys, "coverage", "pinball"]].rename(
        columns={"coverage": "coverage_static", "pinball": "pinball_static"}
    )
    return calibrated.merge(extra, on=keys, how="left")

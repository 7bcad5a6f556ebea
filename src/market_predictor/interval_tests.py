"""Backtests of the served 10%-90% interval as risk users know them from Value-at-Risk
backtesting: each quantile is a VaR-like bound, and its *hits* (outcomes beyond it) must
come at the nominal rate and unannounced.

What each test checks and how to read a rejection (all at `level`, default 5%):

- **Proportion of failures** (Kupiec 1995, `pof`): is the hit rate the nominal `p`?
  Two-sided: too many hits (the bound is too close to the median: risk understated) and
  too few (too far: the interval is wider than it claims) both reject; `hit_rate`
  against `nominal` says which. Statistic
  ``LR_pof = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x]``, chi-square(1).
- **Independence** (Christoffersen 1998, `independence`): does a hit today change the
  chance of one tomorrow? The hits are fitted as a first-order Markov chain (``pi01`` =
  P(hit | no hit yesterday), ``pi11`` = P(hit | hit yesterday)) against i.i.d. hits
  (one ``pi``), chi-square(1). A rejection with ``pi11 > pi01`` means hits cluster: the
  interval does not widen fast enough after a shock (volatility clustering is not
  tracked). It says nothing about the hit count, and sees only day-to-day dependence.
- **Conditional coverage** (Christoffersen 1998, `conditional_coverage`): both at once,
  i.i.d. hits with probability `p` against the Markov chain, chi-square(2). It rejects a
  bound that fails either way, but spends a degree of freedom on independence, so
  against a wrong hit count alone it has less power than `pof`: read all three.
- **Interval score** (Gneiting & Raftery 2007) of the central ``1 - alpha`` interval:
  ``(u - l) + (2/alpha)(l - y) 1{y < l} + (2/alpha)(y - u) 1{y > u}``, the mean over
  rows. Not a test but a proper scoring rule: lower is better, narrowness is rewarded
  and each miss costs its distance times ``2/alpha``. It is in the units of `actual`
  (prices here), so compare models only on the same rows.

Each tail is tested with its own hits (lower: ``actual < lower``, p = `lower_level`;
upper: ``actual > upper``, p = ``1 - upper_level``), and the interval with its misses
(either, p = the sum). An outcome exactly on a bound is not a hit: the quantile is the
value at or below which the outcome falls with its probability.

Conventions:

- **Transitions** are between consecutive rows, in the order given, of the same group
  (`groups`, e.g. the symbol): the rows of each group must be in time order, and no
  transition crosses from one group's last row to the next group's first.
- **Conditional coverage drops each group's first row**: its coverage part is the POF
  statistic of the rows that end a transition (``x = n01 + n11`` hits in
  ``n00 + n01 + n10 + n11`` rows), so ``LR_cc`` is exactly the likelihood ratio of i.i.d.
  Bernoulli(p) against the Markov chain, and exactly
  ``pof_statistic(hits[1:], p) + independence_statistic(hits)``. The `pof` test reported
  beside it uses every row (it is the one risk users know by its hit count), so the
  reported ``pof.statistic + independence.statistic`` differs from
  ``conditional_coverage.statistic`` by the first row's share (some texts, and MATLAB's
  varbacktest, add the all-row POF instead).
- **0·log 0 = 0**, so a probability estimate of 0 or 1 (no hits, every row a hit,
  alternating hits) gives a finite statistic. A Markov state with no transitions out of
  it (no hits; every row a hit; the only hit on the last row) has a conditional
  probability that multiplies nothing, so the unrestricted fit equals the restricted one
  and the independence statistic is exactly 0 (p-value 1), never NaN.
- **Undefined is NaN** (null in JSON) and never rejects: every statistic with no rows,
  the independence and conditional-coverage statistics with no transitions (fewer than
  two rows in every group). Rejection is ``p_value < level``: a p-value equal to the
  level does not reject.

Reading the numbers. The p-values are chi-square approximations: with few expected hits
(``n p`` below about 5) they are rough. Pooled over symbols, hits on one day are
correlated (a market-wide move crosses every symbol's bound at once) while the tests
treat them as independent, so pooled rejections overstate the evidence; prefer each
symbol's result. For horizons of h > 1 days, overlapping forecasts make hits dependent
by construction: test every h-th day only, or the independence test rejects a correct
model.

Why not the PyPI package ``vartests`` (0.4.1, checked in a throwaway environment): its
Kupiec test agrees with `pof_statistic` to 2e-13 on 18 sequences and levels (including
no hits and every row a hit, where it also uses 0·log 0 = 0), but it has no Markov
independence test and no conditional-coverage test (its independence test is
Christoffersen-Pelletier's duration test, NaN below two durations), which is what this
module is for. Importing it imports ``arch``, ``pandas`` and ``tqdm`` (its package init
loads its GARCH-based tests), it is a single-author beta with Portuguese docstrings, and
it names the level by the VaR confidence (``risk_conf_level`` = 1 - p, default 0.99).
The few lines of statistics here cost less than that dependency; it is not used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market_predictor.records import OptionalFloatsModel

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_LEVEL = 0.05
# Tail levels such as 1 - 0.9 carry float noise (0.09999999999999998) into the reported
# nominal rates; levels are never given to more digits than this.
_LEVEL_DIGITS = 12


class TransitionCounts(NamedTuple):
    """Day-to-day transitions of a hit sequence: ``nij`` = hit state i followed by j."""

    n00: int
    n01: int
    n10: int
    n11: int

    @property
    def transitions(self) -> int:
        return self.n00 + self.n01 + self.n10 + self.n11

    @property
    def hits(self) -> int:
        """Hits among the rows that end a transition (each group's first row dropped)."""
        return self.n01 + self.n11


class LikelihoodRatioTest(OptionalFloatsModel):
    """One test's statistic, its chi-square p-value and whether it rejects at the level."""

    statistic: float | None
    p_value: float | None
    rejected: bool


class HitBacktest(OptionalFloatsModel):
    """The three tests of one hit sequence (a tail's hits, or the interval's misses)."""

    nominal: float
    n: int
    hits: int
    hit_rate: float | None
    pof: LikelihoodRatioTest
    independence: LikelihoodRatioTest
    conditional_coverage: LikelihoodRatioTest


class IntervalBacktest(OptionalFloatsModel):
    """Backtest of a forecast table's interval: each tail, the interval, its score."""

    level: float
    lower: HitBacktest
    upper: HitBacktest
    interval: HitBacktest
    interval_score: float | None


# -- statistics ----------------------------------------------------------------------------


def pof_statistic(hits: ArrayLike, p: float) -> float:
    """Kupiec's proportion-of-failures LR statistic of `hits` at nominal hit probability
    `p`; NaN with no rows."""
    values = _as_hits(hits)
    return _pof(int(values.sum()), values.size, _probability(p, "p"))


def transition_counts(hits: ArrayLike, groups: ArrayLike | None = None) -> TransitionCounts:
    """Counts of consecutive (previous, next) hit states within each group, rows in time
    order within a group."""
    values = _as_hits(hits)
    if groups is None:
        previous, following = values[:-1], values[1:]
    else:
        labels = np.asarray(groups)
        if labels.shape != values.shape:
            raise ValueError(f"groups has shape {labels.shape}, hits {values.shape}")
        codes = np.unique(labels, return_inverse=True)[1]
        order = np.argsort(codes, kind="stable")  # stable: keeps each group's time order
        ordered, ordered_codes = values[order], codes[order]
        same_group = ordered_codes[1:] == ordered_codes[:-1]
        previous, following = ordered[:-1][same_group], ordered[1:][same_group]
    return TransitionCounts(
        n00=int(np.sum(~previous & ~following)),
        n01=int(np.sum(~previous & following)),
        n10=int(np.sum(previous & ~following)),
        n11=int(np.sum(previous & following)),
    )


def independence_statistic(hits: ArrayLike, groups: ArrayLike | None = None) -> float:
    """Christoffersen's Markov independence LR statistic; NaN with no transitions."""
    return _independence(transition_counts(hits, groups))


def conditional_coverage_statistic(
    hits: ArrayLike, p: float, groups: ArrayLike | None = None
) -> float:
    """Christoffersen's conditional-coverage LR statistic: the POF statistic of the rows
    that end a transition plus the independence statistic; NaN with no transitions."""
    counts = transition_counts(hits, groups)
    return _conditional_coverage(counts, _probability(p, "p"))


def interval_score(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike, alpha: float) -> float:
    """Mean Gneiting-Raftery interval score of central ``1 - alpha`` intervals; NaN with
    no rows."""
    y, low, high = _as_table(actual, lower, upper)
    alpha = _probability(alpha, "alpha")
    if y.size == 0:
        return math.nan
    below = np.where(y < low, low - y, 0.0)
    above = np.where(y > high, y - high, 0.0)
    return float(np.mean((high - low) + (2.0 / alpha) * (below + above)))


def likelihood_ratio_test(statistic: float, dof: int, level: float) -> LikelihoodRatioTest:
    """A statistic with its chi-square(`dof`) p-value; rejected when it is below `level`."""
    level = _probability(level, "level")
    from scipy import stats  # on use: the typed results import this module's models

    p_value = float(stats.chi2.sf(statistic, dof))
    # An undefined statistic has a NaN p-value, and NaN compares false: it never rejects.
    return LikelihoodRatioTest(statistic=statistic, p_value=p_value, rejected=p_value < level)


# -- backtests -----------------------------------------------------------------------------


def hit_backtest(
    hits: ArrayLike,
    p: float,
    *,
    level: float = DEFAULT_LEVEL,
    groups: ArrayLike | None = None,
) -> HitBacktest:
    """The POF, independence and conditional-coverage tests of one hit sequence."""
    values = _as_hits(hits)
    p = _probability(p, "p")
    counts = transition_counts(values, groups)
    x, n = int(values.sum()), values.size
    return HitBacktest(
        nominal=p,
        n=n,
        hits=x,
        hit_rate=x / n if n else math.nan,
        pof=likelihood_ratio_test(_pof(x, n, p), 1, level),
        independence=likelihood_ratio_test(_independence(counts), 1, level),
        conditional_coverage=likelihood_ratio_test(_conditional_coverage(counts, p), 2, level),
    )


def interval_backtest(
    actual: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    lower_level: float = 0.1,
    upper_level: float = 0.9,
    level: float = DEFAULT_LEVEL,
    groups: ArrayLike | None = None,
) -> IntervalBacktest:
    """Backtest a table of outcomes and their `lower_level`/`upper_level` quantiles
    (a central interval), rows in time order within each group (e.g. symbol)."""
    y, low, high = _as_table(actual, lower, upper)
    lower_p = round(_probability(lower_level, "lower_level"), _LEVEL_DIGITS)
    upper_p = round(1.0 - _probability(upper_level, "upper_level"), _LEVEL_DIGITS)
    if lower_p != upper_p:
        raise ValueError(
            f"levels {lower_level} and {upper_level} are not a central interval "
            "(the interval score needs equal tails)"
        )
    alpha = round(lower_p + upper_p, _LEVEL_DIGITS)
    below, above = y < low, y > high
    return IntervalBacktest(
        level=_probability(level, "level"),
        lower=hit_backtest(below, lower_p, level=level, groups=groups),
        upper=hit_backtest(above, upper_p, level=level, groups=groups),
        interval=hit_backtest(below | above, alpha, level=level, groups=groups),
        interval_score=interval_score(y, low, high, alpha),
    )


def forecasts_backtest(
    forecasts: pd.DataFrame, quantiles: Sequence[float], *, level: float = DEFAULT_LEVEL
) -> IntervalBacktest:
    """`interval_backtest` of a frame of forecasts with outcomes (symbol, as_of_date,
    lower, upper, actual_close) whose bounds are the lowest and highest of `quantiles`;
    transitions within each symbol, in as-of order."""
    rows = forecasts.sort_values(["symbol", "as_of_date"], kind="stable")
    return interval_backtest(
        rows["actual_close"],
        rows["lower"],
        rows["upper"],
        lower_level=min(quantiles),
        upper_level=max(quantiles),
        level=level,
        groups=rows["symbol"],
    )


# How a run stores a contestant's backtest: one metric per number,
# interval_test.<who>.<dotted path>, e.g. interval_test.model.lower.pof.p_value.
METRIC_PREFIX = "interval_test"


def as_metrics(who: str, backtest: IntervalBacktest) -> dict[str, float]:
    """`who`'s backtest as flat metrics (a rejection as 1/0, an undefined value NaN)."""
    metrics: dict[str, float] = {}

    def walk(path: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{path}.{key}", inner)
        else:
            metrics[path] = math.nan if value is None else float(value)  # type: ignore[arg-type]

    walk(f"{METRIC_PREFIX}.{who}", backtest.model_dump())
    return metrics


def from_metrics(metrics: Mapping[str, float]) -> dict[str, IntervalBacktest]:
    """Every contestant's backtest among a run's metrics (others are ignored); a
    contestant with a number missing is left out."""
    nested: dict[str, dict[str, Any]] = {}
    for key, value in metrics.items():
        prefix, _, path = key.partition(".")
        who, _, path = path.partition(".")
        if prefix != METRIC_PREFIX or not path:
            continue
        *parents, leaf = path.split(".")
        node = nested.setdefault(who, {})
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value
    tests: dict[str, IntervalBacktest] = {}
    for who, values in sorted(nested.items()):
        try:
            tests[who] = IntervalBacktest.model_validate(values)
        except ValueError:  # pydantic's ValidationError: an incomplete set
            continue
    return tests


# -- internals -----------------------------------------------------------------------------


def _log_likelihood(misses: int, hits: int, p: float) -> float:
    """Bernoulli log-likelihood with 0·log 0 = 0 (xlogy), so p = 0 or 1 stays finite."""
    from scipy import special

    return float(special.xlogy(misses, 1.0 - p) + special.xlogy(hits, p))


def _rate(hits: int, rows: int) -> float:
    # With no rows the rate multiplies nothing in the likelihood: any value gives the
    # same statistic, and 0 avoids a 0/0.
    return hits / rows if rows else 0.0


def _pof(x: int, n: int, p: float) -> float:
    if n == 0:
        return math.nan
    ratio = _log_likelihood(n - x, x, x / n) - _log_likelihood(n - x, x, p)
    # The unrestricted fit is the maximum: a negative value is rounding.
    return max(2.0 * ratio, 0.0)


def _independence(counts: TransitionCounts) -> float:
    n00, n01, n10, n11 = counts
    if counts.transitions == 0:
        return math.nan
    markov = _log_likelihood(n00, n01, _rate(n01, n00 + n01)) + _log_likelihood(
        n10, n11, _rate(n11, n10 + n11)
    )
    iid = _log_likelihood(n00 + n10, n01 + n11, counts.hits / counts.transitions)
    return max(2.0 * (markov - iid), 0.0)


def _conditional_coverage(counts: TransitionCounts, p: float) -> float:
    return _pof(counts.hits, counts.transitions, p) + _independence(counts)


def _probability(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
    return value


def _as_hits(hits: ArrayLike) -> NDArray[np.bool_]:
    values = np.asarray(hits)
    if values.ndim != 1:
        raise ValueError(f"hits must be one-dimensional, got shape {values.shape}")
    if values.dtype == np.bool_:
        return values
    if not np.isin(values, (0, 1)).all():
        raise ValueError("hits must be booleans or 0/1")
    return values.astype(np.bool_)


def _as_table(
    actual: ArrayLike, lower: ArrayLike, upper: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    y, low, high = (np.asarray(column, dtype=np.float64) for column in (actual, lower, upper))
    if not (y.ndim == 1 and y.shape == low.shape == high.shape):
        raise ValueError(
            f"actual, lower and upper must be one-dimensional of one length, got shapes "
            f"{y.shape}, {low.shape}, {high.shape}"
        )
    if not (np.isfinite(y).all() and np.isfinite(low).all() and np.isfinite(high).all()):
        raise ValueError("actual, lower and upper must be finite (rows without outcomes?)")
    crossed = int(np.sum(low > high))
    if crossed:
        raise ValueError(f"lower is above upper in {crossed} rows")
    return y, low, high

"""Retrain triggers as statistical tests, each with a threshold that accounts for its
sample size and for how many tests run on the same day (docs/monitoring.md).

Every symbol runs, every day:

- **coverage**: the share of the last `n` realised closes inside the served 10%-90%
  interval against its nominal 80%, an exact binomial test (two equal tails);
- **skill**: the served median's absolute error against persistence's over the same
  `n` days, a Diebold-Mariano test with the Harvey-Leybourne-Newbold small-sample
  correction (one-sided: the model is worse), critical value from t with n - 1 d.f.;
- **bias**: the served median's signed error over the width of its interval, over the
  same `n` days, a two-sided t-test that its mean is zero: a trend the median does not
  follow, which the absolute-error tests miss when the model is persistence itself;
- **drift**: for each input as the model sees it, normalised by volatility as its output
  is (return, gap and range over the previous day's 21-day volatility, the 5/21-day
  volatility ratio, volume change), a chi-square statistic of the last `window` days'
  counts in the quintile bins of the champion's most recent training years;
- **scale**: the mean high-low range of the last `SCALE_WINDOW` days over the previous
  day's 21-day volatility (the scale the served interval was built on), one-sided
  against the same statistic over the reference's own windows of that length: the
  interval is too narrow for what the market is doing this week.

Days are serially dependent (volatility clusters, features overlap), so the drift
statistic's null is not chi-square: it is measured when the model is trained on the
reference's own windows of that length (a moving-block estimate of the null), as the
mean (the inflation) and variance of their statistic per degree of freedom. The
threshold is the quantile of the scaled chi-square with that mean and variance
(Satterthwaite; Rao-Scott's second-order correction), never below the inflation times
the chi-square quantile. The scale statistic's null is measured the same way: the log
of the window mean over every reference window of `SCALE_WINDOW` days is treated as
normal with the mean and spread measured there.

The level of every test is Bonferroni-corrected: a day's tests (symbols x tests) share
a family-wise false-alarm probability `alpha` (default 1%), so on data with no change
about `alpha` of days flag anything at most, however many symbols there are.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

DRIFT_INPUTS = (
    "return_z",
    "gap_z",
    "range_z",
    "volatility_ratio",
    "volume_change",
)
REFERENCE_VERSION = 2
REFERENCE_DAYS = 504  # two trading years: the training years a retrain would replace
DRIFT_WINDOW = 20  # trading days of inputs compared with the reference
BINS = 5  # quintiles: at 20 days, 4 expected per bin
PERFORMANCE_WINDOW = 60  # realised errors behind the coverage and skill tests
MIN_REALISED_ERRORS = 20  # below this, coverage (+-9% s.e.) and skill are not tested
SCALE_INPUT = "range_z"  # the most efficient daily scale measure the model sees
# A trading week: the served interval lags a level change by its 21-day window, so the
# excess is largest in the first days after a break and gone in about three weeks.
SCALE_WINDOW = 5
DEFAULT_ALPHA = 0.01
_STRIDE = 5  # step between the reference's own windows when measuring the null


@dataclass(frozen=True)
class TriggerTest:
    test: str  # coverage | skill | drift:<input>
    statistic: float
    threshold: str  # the rejection rule, e.g. "> 31.2" or "outside 0.63-0.93"
    window: int  # observations behind the statistic
    p_value: float | None
    fired: bool

    def describe(self) -> str:
        return (
            f"{self.test}: {self.statistic:.4g} {self.threshold} "
            f"(n={self.window}{'' if self.p_value is None else f', p={self.p_value:.2g}'})"
        )

    def to_dict(self) -> dict[str, Any]:
        # dataclasses.asdict deep-copies every field: a tenth of a second at 500 symbols.
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(field.name for field in fields(TriggerTest))


def per_test_level(alpha: float, symbols: int, tests: int) -> float:
    """Bonferroni: each test's level so that all of a day's tests share `alpha`."""
    return alpha / max(1, symbols * tests)


PERFORMANCE_TESTS = 3  # coverage, skill, bias


def trigger_count(reference: dict[str, Any] | None) -> int:
    """Coverage, skill and bias, one drift test per input the reference profiles, and
    the scale test when the reference measured its null."""
    if reference is None or not is_current_reference(reference):
        return PERFORMANCE_TESTS
    return PERFORMANCE_TESTS + len(reference["inputs"]) + int("scale" in reference)


# -- performance ---------------------------------------------------------------------------


def coverage_test(inside: ArrayLike, nominal: float, level: float) -> TriggerTest | None:
    """Exact binomial test (equal tails) of the interval's hit rate against `nominal`."""
    hits = np.asarray(inside, dtype=bool)
    n = hits.size
    if n < MIN_REALISED_ERRORS:
        return None
    k = int(hits.sum())
    low, high = _binomial_acceptance(n, nominal, level)
    return TriggerTest(
        test="coverage",
        statistic=k / n,
        threshold=f"outside {low / n:.3f}-{high / n:.3f}",
        window=n,
        p_value=_binomial_p_value(k, n, nominal),
        fired=not low <= k <= high,
    )


@functools.lru_cache(maxsize=4096)
def _binomial_p_value(k: int, n: int, p: float) -> float:
    return float(min(1.0, 2.0 * min(stats.binom.cdf(k, n, p), stats.binom.sf(k - 1, n, p))))


@functools.lru_cache(maxsize=1024)
def _binomial_acceptance(n: int, p: float, level: float) -> tuple[int, int]:
    """The hit counts k whose two-sided (equal-tail) p-value is at least `level`: each
    tail beyond them holds at most level / 2 of the probability."""
    counts = np.arange(n + 1)
    lower_tail = stats.binom.cdf(counts, n, p)
    upper_tail = stats.binom.sf(counts - 1, n, p)
    accepted = counts[(lower_tail > level / 2) & (upper_tail > level / 2)]
    return int(accepted.min()), int(accepted.max())


def skill_test(
    model_abs_error: ArrayLike, persistence_abs_error: ArrayLike, level: float
) -> TriggerTest | None:
    """Diebold-Mariano (HLN-corrected, one-step) test that the model's absolute error
    exceeds persistence's; None below MIN_REALISED_ERRORS."""
    gap = np.asarray(model_abs_error, dtype="float64") - np.asarray(
        persistence_abs_error, dtype="float64"
    )
    gap = gap[np.isfinite(gap)]
    n = gap.size
    if n < MIN_REALISED_ERRORS:
        return None
    critical = _t_critical(level, n - 1)
    spread = float(gap.std(ddof=1))
    if spread == 0.0:
        # Identical gaps every day: zero when the served median is the last close (no
        # skill to lose), else a sure difference whose sign decides.
        mean = float(gap.mean())
        statistic = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p_value = 0.0 if mean > 0 else 1.0
    else:
        statistic = float(gap.mean() / (spread / math.sqrt(n)) * math.sqrt((n - 1) / n))
        p_value = float(special.stdtr(n - 1, -statistic))  # stats.t.sf, without its checks
    return TriggerTest(
        test="skill",
        statistic=statistic,
        threshold=f"> {critical:.3f}",
        window=n,
        p_value=p_value,
        fired=statistic > critical,
    )


def bias_test(scaled_errors: ArrayLike, level: float) -> TriggerTest | None:
    """Two-sided t-test that the mean of the served median's errors (actual minus
    median, over the interval's width, so calm and volatile days weigh alike) is zero;
    None below MIN_REALISED_ERRORS."""
    errors = np.asarray(scaled_errors, dtype="float64")
    errors = errors[np.isfinite(errors)]
    n = errors.size
    if n < MIN_REALISED_ERRORS:
        return None
    critical = _t_critical(level / 2, n - 1)
    mean = float(errors.mean())
    spread = float(errors.std(ddof=1))
    if spread == 0.0:
        # The same error every day: no bias when it is zero, else a sure one.
        statistic = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p_value = 1.0 if mean == 0 else 0.0
    else:
        statistic = mean / (spread / math.sqrt(n))
        p_value = float(2.0 * special.stdtr(n - 1, -abs(statistic)))
    return TriggerTest(
        test="bias",
        statistic=statistic,
        threshold=f"|t| > {critical:.3f}",
        window=n,
        p_value=p_value,
        fired=abs(statistic) > critical,
    )


# -- drift -----------------------------------------------------------------------------------


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


def _profile(values: np.ndarray) -> dict[str, list[float]]:
    edges = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1]))
    fractions = _bin_counts(values, edges) / values.size
    return {"edges": edges.tolist(), "fractions": fractions.tolist()}


def drift_reference(
    features: pd.DataFrame,
    reference_days: int = REFERENCE_DAYS,
    window: int = DRIFT_WINDOW,
) -> dict[str, Any]:
    """What a model stores for drift: per symbol (and pooled, for new symbols) the
    quintile bins of each input over its last `reference_days` rows, and per input the
    mean (inflation) and variance (dispersion) of the chi-square statistic per degree of
    freedom on `window`-day windows."""
    inputs = model_inputs(features)
    recent = inputs.groupby("symbol", sort=False).tail(reference_days)
    profiles: dict[str, dict[str, dict[str, list[float]]]] = {}
    ratios: dict[str, list[float]] = {name: [] for name in DRIFT_INPUTS}
    for symbol, rows in recent.groupby("symbol", sort=False):
        if len(rows) < 2 * window:
            continue
        profiles[str(symbol)] = {}
        for name in DRIFT_INPUTS:
            values = rows[name].to_numpy(dtype="float64")
            profile = _profile(values)
            profiles[str(symbol)][name] = profile
            edges = np.asarray(profile["edges"])
            fractions = np.asarray(profile["fractions"])
            dof = max(1, edges.size)
            for start in range(0, values.size - window + 1, _STRIDE):
                piece = values[start : start + window]
                ratios[name].append(chi_square(piece, edges, fractions) / dof)
    if not profiles:
        return {}
    pooled = {name: _profile(recent[name].to_numpy(dtype="float64")) for name in DRIFT_INPUTS}
    scales = {
        str(symbol): rows[SCALE_INPUT].to_numpy(dtype="float64")
        for symbol, rows in recent.groupby("symbol", sort=False)
        if str(symbol) in profiles
    }
    return {
        "version": REFERENCE_VERSION,
        "inputs": list(DRIFT_INPUTS),
        "window": window,
        "reference_days": reference_days,
        "symbols": profiles,
        "pooled": pooled,
        # Every profiled symbol has at least one window of every input.
        "inflation": {name: max(1.0, float(np.mean(v))) for name, v in ratios.items()},
        "dispersion": {name: float(np.var(v, ddof=1)) for name, v in ratios.items() if len(v) > 1},
        "scale": {
            "input": SCALE_INPUT,
            "window": SCALE_WINDOW,
            "symbols": {symbol: _scale_null([values]) for symbol, values in scales.items()},
            "pooled": _scale_null(list(scales.values())),
        },
        "first_date": recent["date"].min().date().isoformat(),
        "last_date": recent["date"].max().date().isoformat(),
    }


def is_current_reference(reference: dict[str, Any]) -> bool:
    """A reference built by this code (models trained before issue 9 stored a PSI profile)."""
    return reference.get("version") == REFERENCE_VERSION


def drift_tests(
    reference: dict[str, Any],
    inputs: pd.DataFrame | Mapping[str, np.ndarray],
    symbol: str,
    level: float,
) -> list[TriggerTest]:
    """One chi-square test per input on `inputs` (one symbol's last `window` rows)."""
    profiles = reference["symbols"].get(symbol, reference["pooled"])
    results = []
    for name in reference["inputs"]:
        values = np.asarray(inputs[name], dtype="float64")
        values = values[np.isfinite(values)]
        if values.size < reference["window"] // 2:
            continue
        edges = np.asarray(profiles[name]["edges"])
        fractions = np.asarray(profiles[name]["fractions"])
        dof = max(1, edges.size)
        inflation = float(reference["inflation"].get(name, 1.0))
        statistic = chi_square(values, edges, fractions)
        critical = inflation * _chi2_critical(level, dof)
        p_value = float(special.chdtrc(dof, statistic / inflation))  # stats.chi2.sf
        dispersion = reference.get("dispersion", {}).get(name)
        if dispersion:
            scale, shape = _scaled_chi2(inflation, float(dispersion), dof)
            critical = max(critical, scale * _chi2_critical(level, shape))
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


def _window_log_means(values: np.ndarray, window: int) -> np.ndarray:
    """The log of the mean of every `window` consecutive values (non-positive means,
    a run of zero ranges, are dropped)."""
    if values.size < window:
        return np.empty(0)
    sums = np.cumsum(np.concatenate([[0.0], values]))
    means = (sums[window:] - sums[:-window]) / window
    return np.log(means[means > 0])


def _scale_null(series: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean and spread of the log window-mean over every SCALE_WINDOW-day window of the
    reference (each series a symbol's rows in date order): overlapping windows, so
    the spread includes the days' dependence, as the drift inflation does."""
    logs = np.concatenate([_window_log_means(v[np.isfinite(v)], SCALE_WINDOW) for v in series])
    return {"mean": float(logs.mean()), "sd": float(logs.std(ddof=1))}


def scale_test(
    reference: dict[str, Any],
    inputs: pd.DataFrame | Mapping[str, np.ndarray],
    symbol: str,
    level: float,
) -> TriggerTest | None:
    """One-sided test that the last SCALE_WINDOW days' mean range, in units of the
    volatility the interval was scaled by, is above what the reference's own windows
    of that length show at `level`. None without a scale null or a full window."""
    null_by = reference.get("scale")
    if null_by is None:
        return None
    null = null_by["symbols"].get(symbol, null_by["pooled"])
    values = np.asarray(inputs[null_by["input"]], dtype="float64")
    values = values[np.isfinite(values)][-int(null_by["window"]) :]
    if values.size < int(null_by["window"]):
        return None
    statistic = float(values.mean())
    critical = math.exp(null["mean"] + _normal_critical(level) * null["sd"])
    fired = statistic > critical
    if null["sd"] > 0 and statistic > 0:
        p_value = float(special.ndtr((null["mean"] - math.log(statistic)) / null["sd"]))
    else:
        p_value = 0.0 if fired else 1.0  # a reference whose weeks never varied
    return TriggerTest(
        test=f"scale:{null_by['input']}",
        statistic=statistic,
        threshold=f"> {critical:.3g}",
        window=int(values.size),
        p_value=p_value,
        fired=fired,
    )


# Critical values depend only on the level and the degrees of freedom, the same for
# every symbol of a day; scipy's distribution objects cost ~0.3 ms a call in checks.
@functools.lru_cache(maxsize=1024)
def _t_critical(level: float, dof: int) -> float:
    return float(stats.t.ppf(1.0 - level, dof))


@functools.lru_cache(maxsize=1024)
def _chi2_critical(level: float, dof: float) -> float:
    return float(stats.chi2.isf(level, dof))


@functools.lru_cache(maxsize=1024)
def _normal_critical(level: float) -> float:
    return float(stats.norm.isf(level))


def strongest(results: Iterable[TriggerTest]) -> TriggerTest | None:
    """The test to report on a row: the firing one with the smallest p-value, else the
    one closest to firing."""
    ordered = sorted(results, key=lambda r: (not r.fired, 1.0 if r.p_value is None else r.p_value))
    return ordered[0] if ordered else None

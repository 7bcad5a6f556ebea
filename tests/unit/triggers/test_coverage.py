"""The coverage test: an exact binomial test of the interval's hit rate whose acceptance
band depends on the window's length."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from market_predictor.triggers.base import MIN_REALISED_ERRORS, Evidence
from market_predictor.triggers.coverage import CoverageTrigger, coverage_test
from tests.unit.triggers.data import LEVEL


def test_coverage_waits_for_enough_realised_errors() -> None:
    few = MIN_REALISED_ERRORS - 1
    assert coverage_test([False] * few, 0.8, LEVEL) is None
    assert coverage_test([False] * MIN_REALISED_ERRORS, 0.8, LEVEL) is not None


def test_coverage_threshold_depends_on_the_window_length() -> None:
    # 70% coverage: noise over 30 days, a failure over 600.
    short = coverage_test([True] * 21 + [False] * 9, 0.8, LEVEL)
    long = coverage_test([True] * 420 + [False] * 180, 0.8, LEVEL)
    assert short is not None and long is not None
    assert short.statistic == long.statistic == pytest.approx(0.7)
    assert not short.fired and long.fired
    assert short.window == 30 and long.window == 600
    assert long.threshold.startswith("outside ")


def test_coverage_fires_on_the_first_count_beyond_the_acceptance_bounds() -> None:
    n = 60
    accepted = [
        k
        for k in range(n + 1)
        if not coverage_test([True] * k + [False] * (n - k), 0.8, LEVEL).fired
    ]  # type: ignore[union-attr]
    low, high = min(accepted), max(accepted)
    assert accepted == list(range(low, high + 1))
    assert 0 < low < 48 < high < 60
    bounds = coverage_test([True] * low + [False] * (n - low), 0.8, LEVEL)
    assert bounds is not None
    assert bounds.threshold == f"outside {low / n:.3f}-{high / n:.3f}"


def test_coverage_reports_the_hit_rate_and_its_two_sided_binomial_p_value() -> None:
    result = coverage_test([True] * 40 + [False] * 10, 0.8, LEVEL)
    assert result is not None
    assert result.statistic == pytest.approx(0.8) and result.window == 50
    assert result.p_value == 1.0  # at the nominal rate exactly: nothing to reject
    low = coverage_test([True] * 30 + [False] * 20, 0.8, LEVEL)
    assert low is not None
    assert low.p_value == pytest.approx(2 * stats.binom.cdf(30, 50, 0.8))
    assert low.test == "coverage"
    high = coverage_test([True] * 49 + [False], 0.8, LEVEL)  # P(X >= 49), both tails
    assert high is not None
    assert high.p_value == pytest.approx(2 * (stats.binom.pmf(49, 50, 0.8) + 0.8**50))


def test_the_coverage_trigger_tests_the_hits_against_the_served_intervals_nominal_rate() -> None:
    hits = np.array([True] * 27 + [False] * 3)  # 90%: on target for a 90% interval only
    evidence = Evidence({"inside_interval": hits}, None, nominal_coverage=0.9)
    [own] = CoverageTrigger().run(evidence, None, "AAA", LEVEL)
    assert own == coverage_test(hits, 0.9, LEVEL)
    assert own.p_value == 1.0
    assert coverage_test(hits, 0.8, LEVEL).p_value < 1.0  # type: ignore[union-attr,operator]
    short = Evidence({"inside_interval": hits[:5]}, None, nominal_coverage=0.9)
    assert CoverageTrigger().run(short, None, "AAA", LEVEL) == []


def test_beyond_the_next_day_coverage_counts_every_hth_hit_back_from_the_newest() -> None:
    # 60 five-day errors: the 12 non-overlapping ones (the newest and every 5th before
    # it) all miss, every other one is a hit (80% over all 60).
    hits = np.array([i % 5 != 4 for i in range(60)])
    result = coverage_test(hits, 0.8, LEVEL, horizon=5)
    assert result is not None and result.fired
    assert result.test == "coverage:h5" and result.window == 12
    assert result.statistic == 0.0
    assert result.p_value == pytest.approx(2 * 0.2**12)
    assert result.threshold.endswith(" (1 in every 5 errors)")
    shifted = coverage_test(np.roll(hits, 1), 0.8, LEVEL, horizon=5)  # the misses overlap
    assert shifted is not None and shifted.statistic == 1.0 and not shifted.fired


def test_the_coverage_trigger_tests_the_hits_of_the_evidences_horizon() -> None:
    hits = np.array([i % 5 != 4 for i in range(60)])
    evidence = Evidence({"inside_interval": hits}, None, 0.8, horizon=5)
    [own] = CoverageTrigger().run(evidence, None, "AAA", LEVEL)
    assert own == coverage_test(hits, 0.8, LEVEL, horizon=5)


def test_two_day_coverage_already_counts_only_every_other_hit() -> None:
    # 10 two-day errors: the 5 non-overlapping ones (the newest and every 2nd before it)
    # all miss, the 5 between them all hit.
    result = coverage_test([True, False] * 5, 0.8, LEVEL, horizon=2)
    assert result is not None and result.test == "coverage:h2"
    assert (result.window, result.statistic) == (5, 0.0)
    assert result.threshold.endswith(" (1 in every 2 errors)")

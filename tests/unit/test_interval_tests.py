"""VaR-style interval backtests: each statistic equals its formula worked by hand, the
degenerate sequences stay finite where the statistic is defined, and on simulated hits
the tests reject about as often as their level (i.i.d.) or almost always (clustered)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from market_predictor.interval_tests import (
    HitBacktest,
    IntervalBacktest,
    TransitionCounts,
    as_metrics,
    conditional_coverage_statistic,
    from_metrics,
    hit_backtest,
    independence_statistic,
    interval_backtest,
    interval_score,
    likelihood_ratio_test,
    pof_statistic,
    transition_counts,
)

ln = math.log


def _hits(text: str) -> np.ndarray:
    return np.array([c == "1" for c in text])


# 15 rows, 6 hits; its 14 transitions, counted pair by pair:
# 1→1 1→0 0→0 0→0 0→1 1→0 0→0 0→0 0→0 0→1 1→1 1→1 1→0 0→0
# n00 = 6, n01 = 2, n10 = 3, n11 = 3 (no two counts equal, so a swap shows).
CLUSTERED = _hits("110001000011100")


# -- proportion of failures ----------------------------------------------------------------


def test_pof_of_3_hits_in_20_at_10_percent_is_kupiecs_formula() -> None:
    hits = np.zeros(20, bool)
    hits[[2, 9, 15]] = True
    expected = -2 * (17 * ln(0.9) + 3 * ln(0.1)) + 2 * (17 * ln(0.85) + 3 * ln(0.15))
    assert pof_statistic(hits, 0.1) == pytest.approx(expected, rel=1e-12)


def test_pof_takes_the_nominal_probability_as_the_hit_probability_not_its_complement() -> None:
    hits = np.zeros(20, bool)
    hits[:6] = True  # 6 hits in 20 at p = 0.2
    expected = -2 * (14 * ln(0.8) + 6 * ln(0.2)) + 2 * (14 * ln(0.7) + 6 * ln(0.3))
    assert pof_statistic(hits, 0.2) == pytest.approx(expected, rel=1e-12)


def test_pof_is_zero_when_the_hit_rate_is_exactly_nominal() -> None:
    hits = np.zeros(50, bool)
    hits[::10] = True
    assert pof_statistic(hits, 0.1) == 0.0


def test_pof_with_no_hits_or_only_hits_is_finite_as_0_log_0_is_0() -> None:
    assert pof_statistic(np.zeros(20, bool), 0.1) == pytest.approx(-2 * 20 * ln(0.9))
    assert pof_statistic(np.ones(20, bool), 0.1) == pytest.approx(-2 * 20 * ln(0.1))


def test_0_1_integers_count_like_booleans() -> None:
    assert pof_statistic([0, 1, 0, 0, 1], 0.1) == pof_statistic(_hits("01001"), 0.1)
    integers = [int(hit) for hit in CLUSTERED]
    assert transition_counts(integers) == transition_counts(CLUSTERED)


def test_pof_of_no_rows_is_undefined() -> None:
    assert math.isnan(pof_statistic(np.zeros(0, bool), 0.1))


# -- independence and conditional coverage ------------------------------------------------


def test_transitions_are_counted_pair_by_pair() -> None:
    assert transition_counts(CLUSTERED) == TransitionCounts(n00=6, n01=2, n10=3, n11=3)
    assert transition_counts(CLUSTERED).transitions == 14
    assert transition_counts(CLUSTERED).hits == 5  # the first row's hit is not a transition's


def test_independence_is_christoffersens_markov_likelihood_ratio() -> None:
    pi01, pi11, pi = 2 / 8, 3 / 6, 5 / 14
    iid = (6 + 3) * ln(1 - pi) + (2 + 3) * ln(pi)
    markov = 6 * ln(1 - pi01) + 2 * ln(pi01) + 3 * ln(1 - pi11) + 3 * ln(pi11)
    assert independence_statistic(CLUSTERED) == pytest.approx(-2 * iid + 2 * markov, rel=1e-12)


def test_conditional_coverage_is_the_markov_chain_against_iid_hits_at_p() -> None:
    # Coverage part on the 14 rows that end a transition (5 hits), then independence:
    # together the likelihood ratio of Bernoulli(0.1) against the fitted chain.
    pi01, pi11 = 2 / 8, 3 / 6
    nominal = 9 * ln(0.9) + 5 * ln(0.1)
    markov = 6 * ln(1 - pi01) + 2 * ln(pi01) + 3 * ln(1 - pi11) + 3 * ln(pi11)
    expected = -2 * nominal + 2 * markov
    assert conditional_coverage_statistic(CLUSTERED, 0.1) == pytest.approx(expected, rel=1e-12)


def test_conditional_coverage_is_pof_without_the_first_row_plus_independence() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        hits = rng.random(60) < 0.2
        total = pof_statistic(hits[1:], 0.2) + independence_statistic(hits)
        assert conditional_coverage_statistic(hits, 0.2) == pytest.approx(total, abs=1e-12)


@pytest.mark.parametrize("hits", ["0" * 20, "1" * 20, "0" * 19 + "1", "1" + "0" * 19])
def test_independence_is_exactly_zero_when_a_state_has_no_transitions_out(hits: str) -> None:
    assert independence_statistic(_hits(hits)) == 0.0


def test_no_hits_reject_on_coverage_only() -> None:
    result = hit_backtest(np.zeros(20, bool), 0.1)
    assert (result.hits, result.hit_rate) == (0, 0.0)
    assert result.pof.statistic == pytest.approx(-2 * 20 * ln(0.9))
    assert result.independence.statistic == 0.0
    assert result.independence.p_value == 1.0
    assert result.conditional_coverage.statistic == pytest.approx(-2 * 19 * ln(0.9))


def test_every_row_a_hit_is_finite() -> None:
    result = hit_backtest(np.ones(20, bool), 0.1)
    assert result.hit_rate == 1.0
    assert result.pof.statistic == pytest.approx(-2 * 20 * ln(0.1))
    assert result.independence.statistic == 0.0
    assert result.conditional_coverage.statistic == pytest.approx(-2 * 19 * ln(0.1))


def test_a_single_hit_on_the_last_row_counts_for_coverage_not_independence() -> None:
    hits = _hits("0" * 19 + "1")
    assert transition_counts(hits) == TransitionCounts(n00=18, n01=1, n10=0, n11=0)
    result = hit_backtest(hits, 0.1)
    pof = -2 * (19 * ln(0.9) + ln(0.1)) + 2 * (19 * ln(0.95) + ln(0.05))
    cc = -2 * (18 * ln(0.9) + ln(0.1)) + 2 * (18 * ln(18 / 19) + ln(1 / 19))
    assert result.pof.statistic == pytest.approx(pof, rel=1e-12)
    assert result.independence.statistic == 0.0
    assert result.conditional_coverage.statistic == pytest.approx(cc, rel=1e-12)


def test_a_single_hit_on_the_first_row_drops_out_of_conditional_coverage() -> None:
    hits = _hits("1" + "0" * 19)
    assert transition_counts(hits) == TransitionCounts(n00=18, n01=0, n10=1, n11=0)
    assert independence_statistic(hits) == 0.0
    assert conditional_coverage_statistic(hits, 0.1) == pytest.approx(-2 * 19 * ln(0.9))


@pytest.mark.parametrize("hits", ["0101010101", "1010101010"])
def test_alternating_hits_are_a_finite_perfect_markov_fit(hits: str) -> None:
    # pi01 = 1 and pi11 = 0: the chain's log-likelihood is 0 (every log term's count is 0).
    counts = transition_counts(_hits(hits))
    assert (counts.n00, counts.n11) == (0, 0)
    assert sorted((counts.n01, counts.n10)) == [4, 5]
    expected = -2 * (4 * ln(4 / 9) + 5 * ln(5 / 9))
    assert independence_statistic(_hits(hits)) == pytest.approx(expected, rel=1e-12)


def test_a_single_row_has_coverage_but_no_transitions_to_test() -> None:
    result = hit_backtest(_hits("1"), 0.1)
    assert result.pof.statistic == pytest.approx(-2 * ln(0.1))
    assert result.independence.statistic is None
    assert result.independence.p_value is None
    assert not result.independence.rejected
    assert result.conditional_coverage.statistic is None
    assert not result.conditional_coverage.rejected


def test_no_rows_give_nulls_and_no_rejection() -> None:
    result = hit_backtest(np.zeros(0, bool), 0.1)
    assert (result.n, result.hits, result.hit_rate) == (0, 0, None)
    for test in (result.pof, result.independence, result.conditional_coverage):
        assert (test.statistic, test.p_value, test.rejected) == (None, None, False)


# -- groups --------------------------------------------------------------------------------


def test_no_transition_crosses_from_one_group_to_the_next() -> None:
    # Each symbol alone has no transition out of a hit; concatenated, A's last hit would
    # be followed by B's first.
    hits = _hits("0001" + "1000")
    symbols = np.array(["A"] * 4 + ["B"] * 4)
    assert transition_counts(hits, symbols) == TransitionCounts(n00=4, n01=1, n10=1, n11=0)
    assert transition_counts(hits) == TransitionCounts(n00=4, n01=1, n10=1, n11=1)


def test_groups_interleaved_by_date_count_as_each_groups_own_sequence() -> None:
    a, b = _hits("110001000011100"), _hits("000100110000001")
    interleaved = np.ravel(np.column_stack([a, b]))
    symbols = np.tile(["A", "B"], a.size)
    counts = transition_counts(interleaved, symbols)
    assert counts == TransitionCounts(
        *(x + y for x, y in zip(transition_counts(a), transition_counts(b), strict=True))
    )


def test_conditional_coverage_by_group_drops_each_groups_first_row() -> None:
    a, b = _hits("110001000011100"), _hits("100100110000001")
    hits, symbols = np.r_[a, b], np.array(["A"] * a.size + ["B"] * b.size)
    rest = np.r_[a[1:], b[1:]]
    expected = pof_statistic(rest, 0.1) + independence_statistic(hits, symbols)
    assert conditional_coverage_statistic(hits, 0.1, symbols) == pytest.approx(expected)
    assert hit_backtest(hits, 0.1, groups=symbols).conditional_coverage.statistic == (
        pytest.approx(expected)
    )


def test_the_table_backtest_counts_transitions_within_each_group() -> None:
    # Symbol A's last outcome is above its interval and B's first is below: a transition
    # out of a hit only if the two symbols were one sequence.
    actual = np.array([10.0, 10.0, 12.0, 8.0, 10.0, 10.0])
    lower, upper = np.full(6, 9.0), np.full(6, 11.0)
    symbols = np.array(["A"] * 3 + ["B"] * 3)
    grouped = interval_backtest(actual, lower, upper, groups=symbols)
    pooled = interval_backtest(actual, lower, upper)
    for name in ("lower", "upper", "interval"):
        hits = {
            "lower": actual < lower,
            "upper": actual > upper,
            "interval": (actual < lower) | (actual > upper),
        }[name]
        tail = getattr(grouped, name)
        assert tail.independence.statistic == pytest.approx(independence_statistic(hits, symbols))
        assert tail.conditional_coverage.statistic == pytest.approx(
            conditional_coverage_statistic(hits, tail.nominal, symbols)
        )
    assert grouped.interval.conditional_coverage != pooled.interval.conditional_coverage
    assert grouped.lower.conditional_coverage != pooled.lower.conditional_coverage
    assert grouped.upper.conditional_coverage != pooled.upper.conditional_coverage


def test_groups_must_label_every_row() -> None:
    with pytest.raises(ValueError, match="groups"):
        transition_counts(_hits("0101"), ["A", "B"])


# -- p-values and rejection ----------------------------------------------------------------


def test_p_values_are_chi_square_with_one_and_two_degrees_of_freedom() -> None:
    result = hit_backtest(CLUSTERED, 0.1)
    for test in (result.pof, result.independence):
        assert test.statistic is not None
        assert test.p_value == pytest.approx(stats.chi2.sf(test.statistic, 1), rel=1e-12)
        assert test.p_value == pytest.approx(math.erfc(math.sqrt(test.statistic / 2)))
    cc = result.conditional_coverage
    assert cc.statistic is not None
    assert cc.p_value == pytest.approx(stats.chi2.sf(cc.statistic, 2), rel=1e-12)
    assert cc.p_value == pytest.approx(math.exp(-cc.statistic / 2))


def test_a_p_value_below_the_level_rejects_and_one_equal_to_it_does_not() -> None:
    hits = np.zeros(20, bool)  # POF p-value 0.0401
    p_value = hit_backtest(hits, 0.1).pof.p_value
    assert p_value is not None
    assert not hit_backtest(hits, 0.1, level=p_value).pof.rejected
    assert hit_backtest(hits, 0.1, level=float(np.nextafter(p_value, 1.0))).pof.rejected
    assert hit_backtest(hits, 0.1).pof.rejected  # at the default 5%
    assert not hit_backtest(hits, 0.1, level=0.01).pof.rejected


def test_each_test_rejects_on_its_own_p_value() -> None:
    critical = float(stats.chi2.isf(0.05, 1))
    assert likelihood_ratio_test(critical * 1.001, 1, 0.05).rejected
    assert not likelihood_ratio_test(critical * 0.999, 1, 0.05).rejected
    assert not likelihood_ratio_test(critical * 1.001, 2, 0.05).rejected
    assert not likelihood_ratio_test(math.nan, 1, 0.05).rejected


# -- the interval score --------------------------------------------------------------------


def test_interval_score_is_width_plus_2_over_alpha_times_each_miss() -> None:
    actual = [10.0, 8.0, 11.5, 9.0]  # inside, 1 below, 0.5 above, on the lower bound
    lower = [9.0, 9.0, 9.0, 9.0]
    upper = [11.0, 11.0, 11.0, 12.0]
    scores = [2.0, 2.0 + 10 * 1.0, 2.0 + 10 * 0.5, 3.0]
    assert interval_score(actual, lower, upper, 0.2) == pytest.approx(np.mean(scores))
    scores_at_half = [2.0, 2.0 + 4 * 1.0, 2.0 + 4 * 0.5, 3.0]
    assert interval_score(actual, lower, upper, 0.5) == pytest.approx(np.mean(scores_at_half))


def test_interval_score_of_one_row_is_that_rows_score() -> None:
    assert interval_score([8.0], [9.0], [11.0], 0.2) == pytest.approx(2.0 + 10 * 1.0)


def test_interval_score_of_no_rows_is_undefined() -> None:
    assert math.isnan(interval_score([], [], [], 0.2))


def test_a_zero_width_interval_is_scored_by_its_misses_alone() -> None:
    assert interval_score([10.0, 9.0], [10.0, 10.0], [10.0, 10.0], 0.2) == pytest.approx(5.0)
    assert interval_backtest([10.0, 9.0], [10.0, 10.0], [10.0, 10.0]).interval.hits == 1


# -- the forecast table --------------------------------------------------------------------


def _table(seed: int = 3, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centre = 100 + np.cumsum(rng.normal(0, 1, n))
    actual = centre + rng.standard_t(4, n)
    return actual, centre - 1.5, centre + 1.2  # asymmetric, so the tails differ


def test_each_tail_counts_its_own_hits_and_the_interval_their_union() -> None:
    actual, lower, upper = _table()
    result = interval_backtest(actual, lower, upper)
    below, above = int(np.sum(actual < lower)), int(np.sum(actual > upper))
    assert (result.lower.hits, result.upper.hits, result.interval.hits) == (
        below,
        above,
        below + above,
    )
    assert (result.lower.nominal, result.upper.nominal, result.interval.nominal) == (
        0.1,
        0.1,
        0.2,
    )
    assert result.lower.n == result.upper.n == result.interval.n == actual.size
    assert result.lower.pof.statistic == pytest.approx(pof_statistic(actual < lower, 0.1))
    assert result.upper.independence.statistic == pytest.approx(
        independence_statistic(actual > upper)
    )
    interval_cc = conditional_coverage_statistic((actual < lower) | (actual > upper), 0.2)
    assert result.interval.conditional_coverage.statistic == pytest.approx(interval_cc)
    assert result.interval_score == pytest.approx(interval_score(actual, lower, upper, 0.2))


def test_an_outcome_exactly_on_a_bound_is_not_a_hit() -> None:
    result = interval_backtest([9.0, 11.0, 10.0], [9.0, 9.0, 9.0], [11.0, 11.0, 11.0])
    assert (result.lower.hits, result.upper.hits, result.interval.hits) == (0, 0, 0)
    result = interval_backtest([8.99, 11.01, 10.0], [9.0, 9.0, 9.0], [11.0, 11.0, 11.0])
    assert (result.lower.hits, result.upper.hits, result.interval.hits) == (1, 1, 2)


def test_mirroring_the_table_swaps_the_tails_and_keeps_the_interval() -> None:
    actual, lower, upper = _table()
    result = interval_backtest(actual, lower, upper)
    mirrored = interval_backtest(-actual, -upper, -lower)
    assert result.lower != result.upper  # the check below is not vacuous
    assert mirrored.lower == result.upper
    assert mirrored.upper == result.lower
    assert mirrored.interval == result.interval
    assert mirrored.interval_score == pytest.approx(result.interval_score)


def test_the_level_applies_to_every_test() -> None:
    actual, lower, upper = _table()
    strict = interval_backtest(actual, lower, upper, level=1e-300)
    lax = interval_backtest(actual, lower, upper, level=1 - 1e-12)
    assert strict.level == 1e-300
    for tail in (strict.lower, strict.upper, strict.interval):
        assert not any(t.rejected for t in (tail.pof, tail.independence, tail.conditional_coverage))
    for tail in (lax.lower, lax.upper, lax.interval):
        assert all(t.rejected for t in (tail.pof, tail.independence, tail.conditional_coverage))


def test_other_central_levels_set_each_tails_nominal_rate() -> None:
    actual, lower, upper = _table()
    result = interval_backtest(actual, lower, upper, lower_level=0.05, upper_level=0.95)
    assert (result.lower.nominal, result.upper.nominal, result.interval.nominal) == (
        0.05,
        0.05,
        0.1,
    )
    assert result.lower.pof.statistic == pytest.approx(pof_statistic(actual < lower, 0.05))
    assert result.interval_score == pytest.approx(interval_score(actual, lower, upper, 0.1))


def test_the_result_is_json_with_nulls_for_undefined_statistics() -> None:
    result = interval_backtest([10.0], [9.0], [11.0])
    payload = result.to_json()
    text = json.dumps(payload, allow_nan=False)
    assert set(payload) == {"level", "lower", "upper", "interval", "interval_score"}
    assert set(payload["lower"]) == {
        "nominal",
        "n",
        "hits",
        "hit_rate",
        "pof",
        "independence",
        "conditional_coverage",
    }
    assert payload["lower"]["independence"] == {
        "statistic": None,
        "p_value": None,
        "rejected": False,
    }
    assert IntervalBacktest.model_validate_json(text) == result
    empty = interval_backtest([], [], []).to_json()
    assert empty["interval_score"] is None
    assert empty["interval"]["hit_rate"] is None


def test_a_tail_result_round_trips_through_json() -> None:
    result = hit_backtest(CLUSTERED, 0.1)
    assert HitBacktest.model_validate_json(json.dumps(result.to_json())) == result


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"lower_level": 0.1, "upper_level": 0.8},
            r"not a central interval \(the interval score needs equal tails\)$",
        ),
        ({"lower_level": 0.0}, "lower_level"),
        ({"upper_level": 1.0}, "upper_level"),
        ({"level": 0.0}, "level"),
    ],
)
def test_bad_levels_are_refused(kwargs: dict[str, float], match: str) -> None:
    actual, lower, upper = _table(n=10)
    with pytest.raises(ValueError, match=match):
        interval_backtest(actual, lower, upper, **kwargs)


@pytest.mark.parametrize(
    ("actual", "lower", "upper", "match"),
    [
        ([10.0, math.nan], [9.0, 9.0], [11.0, 11.0], r"^actual, lower and upper must be finite"),
        ([10.0, 10.0], [9.0, 9.0], [11.0], "one length"),
        ([10.0, 10.0], [9.0, 11.5], [11.0, 11.0], "lower is above upper in 1 rows"),
    ],
)
def test_bad_tables_are_refused(
    actual: list[float], lower: list[float], upper: list[float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        interval_backtest(actual, lower, upper)


@pytest.mark.parametrize(
    ("hits", "match"),
    [
        ([0, 2, 1], r"^hits must be booleans or 0/1$"),
        ([[0, 1], [1, 0]], r"^hits must be one-dimensional, got shape \(2, 2\)$"),
    ],
)
def test_hits_must_be_a_sequence_of_booleans(hits: list[object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pof_statistic(hits, 0.1)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: pof_statistic(CLUSTERED, 1.0), "p"),
        (lambda: conditional_coverage_statistic(CLUSTERED, 0.0), "p"),
        (lambda: interval_score([1.0], [0.0], [2.0], 1.0), "alpha"),
        (lambda: likelihood_ratio_test(1.0, 1, 0.0), "level"),
        (lambda: interval_backtest([1.0], [0.0], [2.0], level=1.0), "level"),
        (lambda: interval_backtest([1.0], [0.0], [2.0], lower_level=1.0), "lower_level"),
        (lambda: interval_backtest([1.0], [0.0], [2.0], upper_level=0.0), "upper_level"),
    ],
)
def test_a_probability_outside_0_1_is_refused_by_name(
    call: Callable[[], object], name: str
) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be strictly between 0 and 1"):
        call()


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_the_nominal_probability_must_be_strictly_inside_0_1(p: float) -> None:
    with pytest.raises(ValueError, match="p must be"):
        hit_backtest(_hits("0101"), p)


# -- simulation ----------------------------------------------------------------------------

SEQUENCES, ROWS, P = 400, 500, 0.1


def _rejections(hit_sequences: np.ndarray, p: float = P) -> dict[str, int]:
    counts = {"pof": 0, "independence": 0, "conditional_coverage": 0}
    for hits in hit_sequences:
        result = hit_backtest(hits, p)
        for name in counts:
            counts[name] += int(getattr(result, name).rejected)
    return counts


def _markov_hits(rng: np.random.Generator, pi01: float, pi11: float) -> np.ndarray:
    uniforms = rng.random((SEQUENCES, ROWS))
    hits = np.zeros((SEQUENCES, ROWS), bool)
    hits[:, 0] = uniforms[:, 0] < P
    for t in range(1, ROWS):
        hits[:, t] = uniforms[:, t] < np.where(hits[:, t - 1], pi11, pi01)
    return hits


def test_iid_hits_at_the_nominal_rate_are_rejected_about_5_percent_of_the_time() -> None:
    hits = np.random.default_rng(20240519).random((SEQUENCES, ROWS)) < P
    # A 99.8% band of Binomial(400, 0.05): 8 to 33 rejections.
    low, high = stats.binom.ppf(0.001, SEQUENCES, 0.05), stats.binom.isf(0.001, SEQUENCES, 0.05)
    for name, rejected in _rejections(hits).items():
        assert low <= rejected <= high, (name, rejected)


def test_clustered_hits_are_rejected_by_independence_almost_always() -> None:
    # Stationary hit rate pi01 / (pi01 + 1 - pi11) = 0.1, so the count alone looks right.
    pi11 = 0.5
    pi01 = P * (1 - pi11) / (1 - P)
    hits = _markov_hits(np.random.default_rng(11), pi01, pi11)
    assert abs(hits.mean() - P) < 0.01
    rejections = _rejections(hits)
    assert rejections["independence"] >= 0.95 * SEQUENCES
    assert rejections["conditional_coverage"] >= 0.95 * SEQUENCES
    assert rejections["pof"] < 0.5 * SEQUENCES


def test_too_many_iid_hits_are_rejected_by_pof_almost_always() -> None:
    hits = np.random.default_rng(5).random((SEQUENCES, ROWS)) < 1.6 * P
    rejections = _rejections(hits)
    assert rejections["pof"] >= 0.95 * SEQUENCES
    assert rejections["independence"] <= 0.1 * SEQUENCES


def test_a_backtest_stored_as_run_metrics_reads_back_whole_and_alone() -> None:
    # One row and a hit on it: no transitions, so the Markov tests are undefined (None).
    backtest = interval_backtest([1.0, 5.0, 3.0], [2.0, 2.0, 2.0], [4.0, 4.0, 4.0])
    single = interval_backtest([1.0], [2.0], [4.0])
    assert single.lower.independence.statistic is None
    metrics = {
        **as_metrics("model", backtest),
        **as_metrics("garch", single),
        "val_model_pinball": 0.1,
        "interval_test.har.lower.n": 3.0,  # an incomplete set is left out
    }
    assert all(key.startswith("interval_test.") for key in as_metrics("model", backtest))
    assert from_metrics(metrics) == {"garch": single, "model": backtest}

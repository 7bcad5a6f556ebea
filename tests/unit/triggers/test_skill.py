"""The skill test: a Diebold-Mariano test (HLN-corrected) that the served median's
absolute error exceeds persistence's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from market_predictor.triggers.base import MIN_REALISED_ERRORS, Evidence
from market_predictor.triggers.overlap import overlap_t
from market_predictor.triggers.skill import SkillTrigger, skill_test
from tests.unit.triggers.data import LEVEL


def test_skill_waits_for_enough_realised_errors() -> None:
    few = MIN_REALISED_ERRORS - 1
    assert skill_test([9.0] * few, [1.0] * few, LEVEL) is None


def test_skill_fires_only_when_the_model_is_significantly_worse_than_persistence() -> None:
    rng = np.random.default_rng(3)
    persistence = np.abs(rng.normal(0, 1, 60))
    same = skill_test(persistence + rng.normal(0, 0.05, 60), persistence, LEVEL)
    worse = skill_test(persistence * 1.5 + 0.1, persistence, LEVEL)
    better = skill_test(persistence * 0.5, persistence, LEVEL)
    assert same is not None and not same.fired
    assert worse is not None and worse.fired and worse.statistic > 0
    assert better is not None and not better.fired


def test_a_persistence_median_has_no_skill_to_lose() -> None:
    result = skill_test([1.0, 2.0] * 15, [1.0, 2.0] * 15, LEVEL)
    assert result is not None
    assert result.statistic == 0.0 and not result.fired


def test_a_model_worse_by_the_same_amount_every_day_fires() -> None:
    result = skill_test([3.0] * 30, [1.0] * 30, LEVEL)
    assert result is not None and result.fired and result.p_value == 0.0


def _gaps_of_mean_one(n: int) -> tuple[list[float], list[float]]:
    """Model errors exceeding persistence's by 0 and 2 on alternate days (mean 1)."""
    return [1.0, 3.0] * (n // 2), [1.0] * n


def test_skill_statistic_is_the_small_sample_corrected_diebold_mariano_t() -> None:
    model, persistence = _gaps_of_mean_one(20)
    result = skill_test(model, persistence, LEVEL)
    assert result is not None
    # mean 1, s.d. sqrt(20/19): DM = 1 / (sd / sqrt(20)), HLN factor sqrt(19/20).
    statistic = 1 / (np.sqrt(20 / 19) / np.sqrt(20)) * np.sqrt(19 / 20)
    assert result.statistic == pytest.approx(statistic)
    assert result.p_value == pytest.approx(stats.t.sf(statistic, 19))
    assert result.window == 20 and result.test == "skill"


def test_skill_fires_exactly_when_its_p_value_is_below_the_level() -> None:
    model, persistence = _gaps_of_mean_one(20)
    p_value = skill_test(model, persistence, LEVEL).p_value  # type: ignore[union-attr]
    above = skill_test(model, persistence, p_value * 1.01)
    below = skill_test(model, persistence, p_value * 0.99)
    assert above is not None and above.fired
    assert below is not None and not below.fired
    critical = float(above.threshold.removeprefix("> "))
    assert critical == pytest.approx(above.statistic, rel=0.01)


def test_skill_ignores_days_without_an_error_and_counts_only_the_rest() -> None:
    model, persistence = _gaps_of_mean_one(20)
    clean = skill_test(model, persistence, LEVEL)
    with_gaps = skill_test([np.nan, *model, 2.0], [1.0, *persistence, np.nan], LEVEL)
    assert clean is not None and with_gaps is not None
    assert with_gaps.window == 20 and with_gaps.statistic == clean.statistic
    assert skill_test([np.nan, *model[1:]], persistence, LEVEL) is None  # 19 days left


def test_a_model_better_by_the_same_amount_every_day_does_not_fire() -> None:
    result = skill_test([1.0] * 30, [3.0] * 30, LEVEL)
    assert result is not None and not result.fired
    assert result.statistic == -np.inf and result.p_value == 1.0


def test_a_persistence_median_gives_no_evidence_even_at_a_lax_level() -> None:
    result = skill_test([1.0, 2.0] * 15, [1.0, 2.0] * 15, 0.5)  # critical value 0
    assert result is not None
    assert result.statistic == 0.0 and not result.fired  # at the critical value: no fire
    assert result.p_value is not None and result.p_value >= 0.5


def test_a_model_worse_by_a_small_constant_every_day_fires_with_certainty() -> None:
    result = skill_test([1.25] * 30, [1.0] * 30, LEVEL)
    assert result is not None and result.fired
    assert result.statistic == np.inf and result.p_value == 0.0


def test_the_skill_trigger_compares_the_models_errors_with_persistences() -> None:
    model, persistence = _gaps_of_mean_one(20)
    errors = {"abs_error": np.array(model), "persistence_abs_error": np.array(persistence)}
    [own] = SkillTrigger().run(Evidence(errors, None, 0.8), None, "AAA", LEVEL)
    assert own == skill_test(model, persistence, LEVEL)
    assert own.statistic is not None and own.statistic > 0  # the model is the worse one
    short = {name: values[:5] for name, values in errors.items()}
    assert SkillTrigger().run(Evidence(short, None, 0.8), None, "AAA", LEVEL) == []


def test_beyond_the_next_day_skill_tests_every_gap_with_its_long_run_variance() -> None:
    rng = np.random.default_rng(8)
    model, persistence = np.abs(rng.normal(0, 1.2, 90)), np.abs(rng.normal(0, 1.0, 90))
    model[10] = np.nan  # a day without an error is left out
    result = skill_test(model, persistence, LEVEL, horizon=3)
    gaps = (model - persistence)[np.isfinite(model)]
    tested = overlap_t(gaps, 3)
    assert result is not None and tested is not None
    assert result.test == "skill:h3" and result.window == 89
    assert (result.statistic, tested.dof) == (tested.statistic, 14)  # 89 // 6 cosines
    assert result.p_value == pytest.approx(stats.t.sf(tested.statistic, 14))
    evidence = Evidence({"abs_error": model, "persistence_abs_error": persistence}, None, 0.8, 3)
    assert SkillTrigger().run(evidence, None, "AAA", LEVEL) == [result]


def test_beyond_the_next_day_the_same_gap_every_day_is_a_sure_sign() -> None:
    worse = skill_test([3.0] * 30, [1.0] * 30, LEVEL, horizon=5)
    same = skill_test([1.0, 2.0] * 15, [1.0, 2.0] * 15, 0.5, horizon=5)
    better = skill_test([1.0] * 30, [3.0] * 30, LEVEL, horizon=5)
    assert worse is not None and worse.fired and worse.p_value == 0.0
    assert same is not None and same.statistic == 0.0 and not same.fired and same.p_value == 1.0
    assert better is not None and not better.fired and better.p_value == 1.0


def test_two_day_skill_already_uses_the_long_run_variance_of_overlapping_gaps() -> None:
    # 10 two-day gaps: too few for the next-day test, 5 non-overlapping ones for this one.
    model = [1.0, 3.0, 2.0, 4.0, 2.0, 5.0, 1.0, 3.0, 4.0, 2.0]
    result = skill_test(model, [2.0] * 10, LEVEL, horizon=2)
    tested = overlap_t(np.asarray(model) - 2.0, 2)
    assert result is not None and tested is not None
    assert result.test == "skill:h2" and result.window == 10
    assert (result.statistic, tested.dof) == (tested.statistic, 2)  # 10 // 4 cosines
    assert result.threshold.endswith("(t, 2 df)")

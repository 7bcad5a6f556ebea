"""The registered family: every trigger it runs is counted in the Bonferroni level the
day's tests share, and a row reports its most significant test."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import market_predictor.triggers as triggers
from market_predictor.features import build_features
from market_predictor.triggers.base import PERFORMANCE_WINDOW, Evidence
from market_predictor.triggers.coverage import coverage_test
from market_predictor.triggers.drift import DRIFT_INPUTS, model_inputs
from market_predictor.triggers.family import (
    FAMILY,
    per_test_level,
    run_all,
    strongest,
    trigger_count,
)
from market_predictor.triggers.overlap import horizon_window
from market_predictor.triggers.reference import DriftReference
from tests.unit.triggers.data import LEVEL, bars, garch_returns


def test_each_test_level_shares_the_days_alpha_over_symbols_and_tests() -> None:
    assert per_test_level(0.01, 4, 7) == pytest.approx(0.01 / 28)
    assert per_test_level(0.01, 1, 2) == pytest.approx(0.005)


def test_a_day_without_symbols_keeps_the_whole_alpha_for_one_test() -> None:
    assert per_test_level(0.01, 0, 7) == pytest.approx(0.01)


def test_a_model_without_a_reference_runs_the_three_performance_tests() -> None:
    assert trigger_count(None) == 3


def test_the_reported_test_is_the_most_significant_firing_one() -> None:
    weak = coverage_test([True] * 40 + [False] * 20, 0.8, LEVEL)
    strong = coverage_test([True] * 20 + [False] * 40, 0.8, LEVEL)
    quiet = coverage_test([True] * 48 + [False] * 12, 0.8, LEVEL)
    assert strongest([quiet, weak, strong]) == strong  # type: ignore[list-item]
    assert strongest([quiet]) == quiet  # type: ignore[list-item]
    assert strongest([]) is None


def test_an_untestable_result_ranks_after_any_with_a_p_value() -> None:
    quiet = coverage_test([True] * 45 + [False] * 15, 0.8, LEVEL)
    assert quiet is not None and not quiet.fired and quiet.p_value < 1.0  # type: ignore[operator]
    unknown = quiet.model_copy(update={"test": "drift:x", "p_value": None})
    assert strongest([unknown, quiet]) == quiet
    firing = unknown.model_copy(update={"fired": True})
    assert strongest([quiet, firing]) == firing


def test_a_result_without_a_p_value_ranks_level_with_one_at_p_one() -> None:
    exact = coverage_test([True] * 48 + [False] * 12, 0.8, LEVEL)  # at nominal: p = 1
    assert exact is not None and exact.p_value == 1.0
    unknown = exact.model_copy(update={"test": "drift:x", "p_value": None})
    assert strongest([unknown, exact]) == unknown
    assert strongest([exact, unknown]) == exact


def _full_evidence(reference: DriftReference) -> Evidence:
    """A symbol's complete evidence: a full window of realised errors and of inputs."""
    rng = np.random.default_rng(8)
    n = PERFORMANCE_WINDOW
    errors = {
        "inside_interval": rng.random(n) < 0.8,
        "abs_error": np.abs(rng.normal(0, 1, n)),
        "persistence_abs_error": np.abs(rng.normal(0, 1, n)),
        "scaled_error": rng.normal(0, 0.3, n),
    }
    inputs = model_inputs(build_features(bars(garch_returns(200, seed=9), "AAA")))
    return Evidence(errors, inputs.tail(reference.window), nominal_coverage=0.8)


def _shapes(reference: DriftReference) -> dict[str, DriftReference | None]:
    return {
        "current": reference,
        "no scale null": reference.model_copy(update={"scale": None}),
        "no dispersion": reference.model_copy(update={"dispersion": None}),
        "neither": reference.model_copy(update={"scale": None, "dispersion": None}),
        "two inputs": reference.model_copy(update={"inputs": ["return_z", "gap_z"]}),
        "none": None,
    }


def test_the_bonferroni_count_is_every_test_the_family_runs_on_complete_evidence(
    reference: DriftReference,
) -> None:
    evidence = _full_evidence(reference)
    counts = {}
    for shape, version in _shapes(reference).items():
        for symbol in ("AAA", "NEW"):  # own bins and the pooled ones
            tests = run_all(evidence, version, symbol, LEVEL)
            assert len(tests) == trigger_count(version), (shape, symbol)
            counts[shape] = len(tests)
    assert counts == {
        "current": 9,
        "no scale null": 8,
        "no dispersion": 9,
        "neither": 8,
        "two inputs": 6,
        "none": 3,
    }


def test_every_trigger_counts_exactly_the_tests_it_runs(reference: DriftReference) -> None:
    # A trigger that runs a test it does not count would spend more than the day's alpha.
    evidence = _full_evidence(reference)
    for version in _shapes(reference).values():
        for trigger in FAMILY:
            ran = trigger.run(evidence, version, "AAA", LEVEL)
            assert len(ran) == trigger.count(version), (trigger.name, version is None)
            assert all(t.test.split(":")[0] == trigger.name for t in ran)


def test_the_family_runs_its_triggers_in_the_order_they_are_registered(
    reference: DriftReference,
) -> None:
    tests = run_all(_full_evidence(reference), reference, "AAA", LEVEL)
    assert [t.test for t in tests] == [
        "coverage",
        "skill",
        "bias",
        *(f"drift:{name}" for name in DRIFT_INPUTS),
        "scale:range_z",
    ]
    assert [trigger.name for trigger in FAMILY] == ["coverage", "skill", "bias", "drift", "scale"]
    hits = _full_evidence(reference).errors["inside_interval"]
    assert tests[0] == coverage_test(hits, 0.8, LEVEL)


def test_untested_inputs_leave_only_the_performance_tests(reference: DriftReference) -> None:
    full = _full_evidence(reference)
    without = Evidence(full.errors, None, full.nominal_coverage)
    assert [t.test for t in run_all(without, reference, "AAA", LEVEL)] == [
        "coverage",
        "skill",
        "bias",
    ]


def test_a_symbol_with_too_few_errors_runs_only_its_input_tests(
    reference: DriftReference,
) -> None:
    full = _full_evidence(reference)
    young = Evidence({k: v[:5] for k, v in full.errors.items()}, full.inputs, 0.8)  # type: ignore[index]
    tests = run_all(young, reference, "AAA", LEVEL)
    assert len(tests) == trigger_count(reference) - 3
    assert all(t.test.startswith(("drift:", "scale:")) for t in tests)


def test_every_public_name_of_the_package_resolves() -> None:
    for name in triggers.__all__:
        assert getattr(triggers, name) is not None, name
    with pytest.raises(AttributeError):
        _ = triggers.no_such_name  # type: ignore[attr-defined]


def test_importing_the_record_loads_no_statistics_or_training_stack() -> None:
    # The typed results and the API import the record; scipy, torch and mlflow load only
    # when a test runs or a model is fitted.
    probe = (
        "import sys, market_predictor.results, market_predictor.triggers.base;"
        "print(sorted({'scipy', 'torch', 'mlflow'} & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[]"


def _at_horizon(evidence: Evidence, horizon: int) -> Evidence:
    """The evidence of a longer horizon: a full window of its errors, the same inputs."""
    rng = np.random.default_rng(horizon)
    n = horizon_window(horizon)
    errors = {
        "inside_interval": rng.random(n) < 0.8,
        "abs_error": np.abs(rng.normal(0, 1, n)),
        "persistence_abs_error": np.abs(rng.normal(0, 1, n)),
        "scaled_error": rng.normal(0, 0.3, n),
    }
    return Evidence(errors, evidence.inputs, evidence.nominal_coverage, horizon)


def test_performance_tests_count_at_every_horizon_and_input_tests_once_a_day(
    reference: DriftReference,
) -> None:
    next_day = _full_evidence(reference)
    for shape, version in _shapes(reference).items():
        ran = [run_all(_at_horizon(next_day, h), version, "AAA", LEVEL) for h in (5, 21)]
        ran.append(run_all(next_day, version, "AAA", LEVEL))
        assert sum(map(len, ran)) == trigger_count(version, horizons=3), shape
    assert trigger_count(reference, horizons=3) == 9 + 2 * 3
    assert trigger_count(None, horizons=3) == 3 * 3
    assert trigger_count(reference) == trigger_count(reference, horizons=1) == 9


def test_beyond_the_next_day_only_the_performance_tests_run_named_by_horizon(
    reference: DriftReference,
) -> None:
    evidence = _at_horizon(_full_evidence(reference), 5)
    assert [t.test for t in run_all(evidence, reference, "AAA", LEVEL)] == [
        "coverage:h5",
        "skill:h5",
        "bias:h5",
    ]
    assert [t.name for t in FAMILY if t.per_horizon] == ["coverage", "skill", "bias"]
    for trigger in FAMILY:
        ran = trigger.run(evidence, reference, "AAA", LEVEL) if trigger.per_horizon else []
        assert len(ran) == (trigger.count(reference) if trigger.per_horizon else 0)

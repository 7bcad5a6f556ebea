"""The champion gate: a challenger must be strictly better than persistence and the
champion; a tie with either keeps what serves today."""

from __future__ import annotations

import math

import pytest

from market_predictor.registry import gate

PERSISTENCE = 0.0031


def _just_below(value: float) -> float:
    return math.nextafter(value, 0.0)


def test_gate_promotes_a_model_that_beats_persistence_and_the_champion() -> None:
    decision = gate(0.0030, PERSISTENCE, 0.00305)
    assert decision.promote is True
    assert decision.decision == "promoted"


def test_gate_promotes_a_model_that_beats_persistence_when_there_is_no_champion() -> None:
    decision = gate(0.0030, PERSISTENCE, None)
    assert decision.promote is True
    assert decision.decision == "promoted"


def test_gate_refuses_a_model_that_only_ties_persistence() -> None:
    decision = gate(PERSISTENCE, PERSISTENCE, None)
    assert decision.promote is False
    assert decision.decision == "rejected_vs_persistence"
    assert f"{PERSISTENCE:.5f}" in decision.reason


def test_gate_refuses_a_tie_with_persistence_even_below_the_champion() -> None:
    decision = gate(PERSISTENCE, PERSISTENCE, 0.0040)
    assert decision.promote is False
    assert decision.decision == "rejected_vs_persistence"


def test_gate_refuses_a_model_that_only_ties_the_champion() -> None:
    champion = 0.0030
    decision = gate(champion, PERSISTENCE, champion)
    assert decision.promote is False
    assert decision.decision == "rejected_vs_champion"
    assert f"{champion:.5f}" in decision.reason


def test_the_smallest_improvement_over_both_rivals_is_promoted() -> None:
    champion = 0.0030
    assert gate(_just_below(champion), PERSISTENCE, champion).promote
    assert gate(_just_below(PERSISTENCE), PERSISTENCE, None).promote


def test_gate_refuses_a_model_that_beats_persistence_but_not_the_champion() -> None:
    decision = gate(0.0030, PERSISTENCE, 0.0029)
    assert decision.promote is False
    assert decision.decision == "rejected_vs_champion"
    assert "0.00290" in decision.reason


def test_gate_refuses_a_model_that_beats_persistence_but_not_garch() -> None:
    decision = gate(0.0030, 0.0031, None, 0.0029)
    assert not decision.promote
    assert decision.decision == "rejected_vs_garch"
    assert gate(0.0030, 0.0031, None, 0.00301).promote
    assert "0.00300" in decision.reason


def test_gate_refuses_a_model_worse_than_persistence_naming_both_losses() -> None:
    decision = gate(0.0040, PERSISTENCE, None)
    assert decision.promote is False
    assert decision.decision == "rejected_vs_persistence"
    assert "0.00400" in decision.reason and "0.00310" in decision.reason


@pytest.mark.parametrize("champion", [None, 0.0035])
def test_a_promotion_reason_names_the_winning_loss(champion: float | None) -> None:
    decision = gate(0.0030, PERSISTENCE, champion)
    assert "0.00300" in decision.reason


def test_gate_refuses_a_model_that_only_ties_garch() -> None:
    decision = gate(0.0030, PERSISTENCE, None, 0.0030)
    assert decision.promote is False
    assert decision.decision == "rejected_vs_garch"

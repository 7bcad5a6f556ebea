from __future__ import annotations

from market_predictor.registry import gate


def test_gate_promotes_a_model_that_beats_persistence_and_the_champion() -> None:
    decision = gate(0.0030, 0.0031, 0.00305)
    assert decision.promote
    assert decision.decision == "promoted"


def test_gate_promotes_a_model_that_beats_persistence_when_there_is_no_champion() -> None:
    assert gate(0.0030, 0.0031, None).promote


def test_gate_refuses_a_model_that_only_ties_persistence() -> None:
    decision = gate(0.0031, 0.0031, None)
    assert not decision.promote
    assert decision.decision == "rejected_vs_persistence"


def test_gate_refuses_a_model_that_beats_persistence_but_not_the_champion() -> None:
    decision = gate(0.0030, 0.0031, 0.0029)
    assert not decision.promote
    assert decision.decision == "rejected_vs_champion"
    assert "0.00290" in decision.reason


def test_gate_refuses_a_model_that_beats_persistence_but_not_garch() -> None:
    decision = gate(0.0030, 0.0031, None, 0.0029)
    assert not decision.promote
    assert decision.decision == "rejected_vs_garch"
    assert gate(0.0030, 0.0031, None, 0.00301).promote

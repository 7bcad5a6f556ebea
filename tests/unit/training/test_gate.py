"""The champion gate: the network must be strictly better than persistence, GARCH (when
it took part) and the champion; a tie with any of them keeps what serves today. Failing
that, a rival that may serve wins only strictly below every other contestant, and with
no champion at all the persistence baseline is what serves."""

from __future__ import annotations

import math

import pytest

from market_predictor.training.fit import BASELINES
from market_predictor.training.gate import (
    BASELINE,
    CHAMPION,
    COMBINABLE,
    COMBINED,
    GATING,
    NETWORK,
    OPTIONAL,
    RIVALS,
    SCORED,
    Rival,
    champion_after,
    contestants,
    decide,
    decide_by_horizon,
    horizons_won,
    labels,
    scores,
    strict_winner,
    verdict,
)

PERSISTENCE = 0.0031


def _just_below(value: float) -> float:
    return math.nextafter(value, 0.0)


def _decide(
    model: float,
    persistence: float = PERSISTENCE,
    champion: float | None = None,
    garch: float | None = None,
    promote: bool = True,
):  # type: ignore[no-untyped-def]
    pinballs = {"model": model, "persistence": persistence, "drift": 0.0}
    if champion is not None:
        pinballs["champion"] = champion
    if garch is not None:
        pinballs["garch"] = garch
    return decide(pinballs, promote=promote)


# -- the network's verdict ------------------------------------------------------------


def test_a_model_that_beats_persistence_and_the_champion_is_promoted() -> None:
    outcome = _decide(0.0030, champion=0.00305)
    assert (outcome.decision, outcome.beaten_by) == ("promoted", None)
    assert outcome.winner == outcome.new_champion == NETWORK
    assert outcome.reason == "pinball 0.00300 beats every rival"


def test_a_model_that_beats_persistence_is_promoted_when_there_is_no_champion() -> None:
    outcome = _decide(0.0030)
    assert outcome.decision == "promoted"
    assert outcome.new_champion == NETWORK


def test_a_model_that_only_ties_persistence_is_refused() -> None:
    outcome = _decide(PERSISTENCE)
    assert (outcome.decision, outcome.beaten_by) == ("rejected_vs_persistence", "persistence")
    assert outcome.reason == "pinball 0.00310 does not beat persistence 0.00310"


def test_a_tie_with_persistence_is_refused_even_below_the_champion() -> None:
    outcome = _decide(PERSISTENCE, champion=0.0040)
    assert outcome.decision == "rejected_vs_persistence"
    assert outcome.new_champion is None


def test_a_model_that_only_ties_the_champion_is_refused() -> None:
    outcome = _decide(0.0030, champion=0.0030)
    assert (outcome.decision, outcome.beaten_by) == ("rejected_vs_champion", CHAMPION)
    assert outcome.reason == "pinball 0.00300 does not beat the champion 0.00300"
    assert outcome.new_champion is None


def test_the_smallest_improvement_over_every_rival_is_promoted() -> None:
    assert _decide(_just_below(0.0030), champion=0.0030).decision == "promoted"
    assert _decide(_just_below(PERSISTENCE)).decision == "promoted"
    assert _decide(_just_below(0.0029), garch=0.0029).decision == "promoted"


def test_a_model_that_beats_persistence_but_not_the_champion_is_refused() -> None:
    outcome = _decide(0.0030, champion=0.0029)
    assert outcome.decision == "rejected_vs_champion"
    assert outcome.reason == "pinball 0.00300 does not beat the champion 0.00290"


def test_a_model_that_beats_persistence_but_not_garch_is_refused() -> None:
    outcome = _decide(0.0030, garch=0.0029)
    assert (outcome.decision, outcome.beaten_by) == ("rejected_vs_garch", "garch")
    assert outcome.reason == "pinball 0.00300 does not beat GARCH(1,1)-t 0.00290"
    assert _decide(0.0030, garch=0.00301).decision == "promoted"


def test_a_model_that_only_ties_garch_is_refused() -> None:
    assert _decide(0.0030, garch=0.0030).decision == "rejected_vs_garch"


def test_a_model_worse_than_persistence_names_both_losses() -> None:
    outcome = _decide(0.0040)
    assert outcome.decision == "rejected_vs_persistence"
    assert outcome.reason == "pinball 0.00400 does not beat persistence 0.00310"


def test_the_verdict_names_the_first_rival_not_beaten_persistence_then_garch_then_champion() -> (
    None
):
    assert _decide(0.0040, champion=0.0001, garch=0.0001).beaten_by == "persistence"
    assert _decide(0.0030, champion=0.0001, garch=0.0001).beaten_by == "garch"
    assert _decide(0.0030, champion=0.0001, garch=0.0035).beaten_by == CHAMPION


def test_drift_is_scored_but_never_gates() -> None:
    # Drift's loss (0.0 in _decide) is below everyone's: the network is promoted anyway.
    outcome = _decide(0.0030)
    assert outcome.decision == "promoted"
    assert "drift" not in outcome.pinballs


def test_a_nan_loss_never_wins() -> None:
    nan = float("nan")
    assert _decide(nan).decision == "rejected_vs_persistence"
    assert _decide(0.0030, garch=nan).decision == "rejected_vs_garch"
    assert _decide(nan).winner is None


# -- a serving rival, the baseline fallback, promotion off -----------------------------


def test_garch_becomes_champion_when_strictly_below_the_network_persistence_and_champion() -> None:
    outcome = _decide(0.0030, champion=0.0032, garch=0.0029)
    assert outcome.decision == "rejected_vs_garch"
    assert outcome.winner == outcome.new_champion == "garch"


@pytest.mark.parametrize(
    ("model", "persistence", "champion", "garch"),
    [
        (0.0029, PERSISTENCE, None, 0.0029),  # ties the network
        (0.0040, 0.0029, None, 0.0029),  # ties persistence
        (0.0040, PERSISTENCE, 0.0029, 0.0029),  # ties the champion
        (0.0040, PERSISTENCE, 0.0028, 0.0029),  # above the champion
    ],
)
def test_garch_does_not_serve_on_a_tie_or_above_any_contestant(
    model: float, persistence: float, champion: float | None, garch: float
) -> None:
    outcome = _decide(model, persistence, champion, garch)
    assert outcome.winner != "garch"
    assert outcome.new_champion != "garch"


def test_without_a_champion_a_losing_network_leaves_the_baseline_to_serve() -> None:
    outcome = _decide(0.0040)
    assert outcome.winner == "persistence"
    assert outcome.new_champion == BASELINE


def test_without_a_champion_a_tie_for_the_lowest_loss_leaves_the_baseline_to_serve() -> None:
    outcome = _decide(0.0029, garch=0.0029)
    assert outcome.winner is None
    assert outcome.new_champion == BASELINE


def test_with_a_champion_a_losing_network_changes_nothing() -> None:
    assert _decide(0.0040, champion=0.0035).new_champion is None
    assert _decide(0.0040, champion=0.0020).new_champion is None


def test_with_promotion_off_the_verdict_stands_but_nothing_becomes_champion() -> None:
    for outcome in (
        _decide(0.0030, promote=False),
        _decide(0.0040, promote=False),
        _decide(0.0030, garch=0.0029, promote=False),
    ):
        assert outcome.promote is False
        assert outcome.new_champion is None
    assert _decide(0.0030, promote=False).decision == "promoted"
    assert _decide(0.0030).promote is True


# -- who is compared -------------------------------------------------------------------


def test_the_outcome_keeps_the_losses_it_compared_network_first() -> None:
    outcome = _decide(0.0030, champion=0.0035, garch=0.0033)
    assert list(outcome.pinballs.items()) == [
        ("model", 0.0030),
        ("persistence", PERSISTENCE),
        ("garch", 0.0033),
        ("champion", 0.0035),
    ]


def test_a_missing_optional_rival_or_champion_is_not_in_the_contest() -> None:
    compared = contestants({"model": 0.1, "persistence": 0.2})
    assert compared == {"model": 0.1, "persistence": 0.2}


def test_a_missing_required_rival_or_network_is_an_error_not_a_pass() -> None:
    with pytest.raises(KeyError):
        contestants({"model": 0.1, "garch": 0.2})
    with pytest.raises(KeyError):
        contestants({"persistence": 0.1})


def test_a_rival_list_is_all_the_gate_knows_of_its_rivals() -> None:
    rivals = (Rival("persistence", "persistence", gates=True), Rival("x", "X", gates=True))
    outcome = decide({"model": 0.3, "persistence": 0.4, "x": 0.2, "garch": 0.1}, rivals=rivals)
    assert outcome.pinballs == {"model": 0.3, "persistence": 0.4, "x": 0.2}
    assert outcome.reason == "pinball 0.30000 does not beat X 0.20000"
    # X may not serve: the champion-less fallback is the baseline, not X.
    assert (outcome.winner, outcome.new_champion) == ("x", BASELINE)
    serving = (rivals[0], Rival("x", "X", gates=True, may_serve=True))
    assert decide({"model": 0.3, "persistence": 0.4, "x": 0.2}, rivals=serving).new_champion == "x"


VOLATILITY = ["garch", "gjr_garch", "egarch", "har"]


def test_the_rival_list_today_the_naive_forecasts_four_volatility_models_and_the_combination() -> (
    None
):
    assert [r.name for r in RIVALS] == ["persistence", "drift", *VOLATILITY, COMBINED]
    assert ("persistence", *VOLATILITY, COMBINED) == GATING
    assert (*VOLATILITY, COMBINED) == OPTIONAL
    assert [r.name for r in RIVALS if r.may_serve] == [*VOLATILITY, COMBINED]
    assert ("model", "persistence", "drift", *VOLATILITY, COMBINED, "champion") == SCORED
    # Each rival but the combination (built from the others) is something training fits,
    # and the combination takes only rivals fitted on their own.
    assert {r.name for r in RIVALS} - {COMBINED} <= set(BASELINES)
    assert ("persistence", *VOLATILITY) == COMBINABLE


# -- the combined candidate ---------------------------------------------------------------


def _with_combined(model: float, combined: float, champion: float | None = None):  # type: ignore[no-untyped-def]
    pinballs = {"model": model, "persistence": PERSISTENCE, "garch": 0.0030, COMBINED: combined}
    if champion is not None:
        pinballs[CHAMPION] = champion
    return decide(pinballs)


def test_the_combined_candidate_serves_when_it_is_the_honest_winner() -> None:
    outcome = _with_combined(0.00295, _just_below(0.00295), champion=0.0029501)
    assert outcome.winner == outcome.new_champion == COMBINED
    # It gates: the network that does not beat it is not promoted.
    assert (outcome.decision, outcome.beaten_by) == ("rejected_vs_combined", COMBINED)
    assert outcome.reason == "pinball 0.00295 does not beat the combined forecast 0.00295"


@pytest.mark.parametrize(
    ("model", "combined", "champion"),
    [
        (0.00295, 0.00295, None),  # ties the network
        (0.0031, 0.0030, None),  # ties GARCH
        (0.0031, 0.00299, 0.00299),  # ties the champion
        (0.00290, 0.00295, None),  # above the network
        (0.0031, 0.00299, 0.00298),  # above the champion
    ],
)
def test_the_combined_candidate_does_not_serve_on_a_tie_or_above_any_contestant(
    model: float, combined: float, champion: float | None
) -> None:
    outcome = _with_combined(model, combined, champion)
    assert outcome.winner != COMBINED
    assert outcome.new_champion != COMBINED


def test_a_network_strictly_below_the_combination_and_every_rival_is_promoted() -> None:
    outcome = _with_combined(0.00290, math.nextafter(0.00290, 1.0))
    assert outcome.decision == "promoted"
    assert outcome.new_champion == NETWORK


# -- the pieces, at their boundaries ----------------------------------------------------


def test_verdict_is_strict_against_each_contestant() -> None:
    names = labels()
    assert verdict({NETWORK: 1.0, "persistence": 1.0}, names)[0] == "persistence"
    assert verdict({NETWORK: 1.0, "persistence": _just_below(1.0)}, names)[0] == "persistence"
    assert verdict({NETWORK: _just_below(1.0), "persistence": 1.0}, names)[0] is None
    assert verdict({NETWORK: 1.0}, names)[0] is None


def test_labels_name_the_champion_and_each_rival() -> None:
    assert labels() == {
        CHAMPION: "the champion",
        "persistence": "persistence",
        "drift": "drift",
        "garch": "GARCH(1,1)-t",
        "gjr_garch": "GJR-GARCH(1,1)",
        "egarch": "EGARCH(1,1)",
        "har": "log-HAR",
        COMBINED: "the combined forecast",
    }


def test_strict_winner_needs_the_lowest_loss_alone() -> None:
    assert strict_winner({"a": 1.0, "b": 2.0, "c": 3.0}) == "a"
    assert strict_winner({"a": 3.0, "b": 2.0, "c": 1.0}) == "c"
    assert strict_winner({"a": 1.0, "b": 1.0, "c": 3.0}) is None
    assert strict_winner({"a": 2.0, "b": 1.0, "c": 1.0}) is None
    assert strict_winner({"a": 1.0}) == "a"


@pytest.mark.parametrize(
    ("winner", "has_champion", "expected"),
    [
        (NETWORK, True, NETWORK),
        (NETWORK, False, NETWORK),
        ("garch", True, "garch"),
        ("garch", False, "garch"),
        ("persistence", True, None),
        ("persistence", False, BASELINE),
        (CHAMPION, True, None),
        (None, True, None),
        (None, False, BASELINE),
    ],
)
def test_champion_after_the_gate(
    winner: str | None, has_champion: bool, expected: str | None
) -> None:
    assert champion_after(winner, has_champion, RIVALS) == expected


# -- several horizons ----------------------------------------------------------------------


def _by_horizon(**pinballs_by_horizon: dict[str, float]) -> dict[int, dict[str, dict[str, float]]]:
    return {
        int(h.removeprefix("h")): {who: {"pinball": p} for who, p in pinballs.items()}
        for h, pinballs in pinballs_by_horizon.items()
    }


def test_next_day_only_scores_are_the_pinballs_themselves() -> None:
    by_horizon = _by_horizon(h1={NETWORK: 0.2, "persistence": 0.3})
    assert scores(by_horizon) == ({NETWORK: 0.2, "persistence": 0.3}, "pinball")


def test_each_horizon_weighs_equally_as_a_ratio_to_persistence() -> None:
    # The network wins the next day by 10% but loses the month by 5%: raw pinballs
    # (0.9 + 21.0 vs 1.0 + 20.0) would hand the decision to the month alone.
    by_horizon = _by_horizon(
        h1={NETWORK: 0.9, "persistence": 1.0}, h21={NETWORK: 21.0, "persistence": 20.0}
    )
    score, measure = scores(by_horizon)
    assert measure == "relative pinball"
    assert score[NETWORK] == pytest.approx((0.9 + 1.05) / 2)
    assert score["persistence"] == 1.0


def test_a_contestant_missing_a_horizon_counts_as_persistence_there() -> None:
    by_horizon = _by_horizon(
        h1={NETWORK: 0.9, "persistence": 1.0, CHAMPION: 0.8},
        h5={NETWORK: 1.8, "persistence": 2.0},
    )
    score, _ = scores(by_horizon)
    assert score[CHAMPION] == pytest.approx((0.8 + 1.0) / 2)
    assert score[NETWORK] == pytest.approx(0.9)


def test_the_decision_by_horizon_says_where_the_new_champion_wins() -> None:
    by_horizon = _by_horizon(
        h1={NETWORK: 0.9, "persistence": 1.0, "garch": 0.95},
        h5={NETWORK: 2.0, "persistence": 2.0, "garch": 2.1},
        h21={NETWORK: 3.0, "persistence": 4.0, "garch": 3.5},
    )
    outcome = decide_by_horizon(by_horizon)
    assert outcome.new_champion == NETWORK
    assert outcome.measure == "relative pinball"
    # A tie with persistence at 5 days is not a win there.
    assert outcome.horizons_won == (1, 21)
    assert "relative pinball" in outcome.reason


def test_a_network_losing_the_relative_score_is_rejected_even_if_it_wins_the_next_day() -> None:
    by_horizon = _by_horizon(
        h1={NETWORK: 0.99, "persistence": 1.0}, h5={NETWORK: 2.2, "persistence": 2.0}
    )
    outcome = decide_by_horizon(by_horizon)
    assert outcome.beaten_by == "persistence"
    assert outcome.new_champion == BASELINE
    # What serves is then persistence, which has the lowest pinball at 5 days only.
    assert outcome.horizons_won == (5,)


def test_when_the_champion_stays_its_horizons_are_reported() -> None:
    by_horizon = _by_horizon(
        h1={NETWORK: 0.9, "persistence": 1.0, CHAMPION: 0.85},
        h5={NETWORK: 1.9, "persistence": 2.0, CHAMPION: 1.95},
    )
    outcome = decide_by_horizon(by_horizon)
    assert outcome.new_champion is None
    assert outcome.horizons_won == (1,)
    assert horizons_won(by_horizon, None, outcome.pinballs) == ()


def test_a_champion_missing_a_middle_horizon_is_credited_at_the_later_ones() -> None:
    # A champion trained for 1 and 21 days; the network also forecasts 5 days. The champion
    # keeps the lower relative score ((0.8 + 1.0 + 0.7) / 3 against (0.9 + 0.95 + 0.75) / 3),
    # so it stays, and wins both horizons it forecasts.
    by_horizon = _by_horizon(
        h1={NETWORK: 0.9, "persistence": 1.0, CHAMPION: 0.8},
        h5={NETWORK: 1.9, "persistence": 2.0},
        h21={NETWORK: 3.0, "persistence": 4.0, CHAMPION: 2.8},
    )
    outcome = decide_by_horizon(by_horizon)
    assert (outcome.beaten_by, outcome.new_champion) == (CHAMPION, None)
    assert outcome.horizons_won == (1, 21)


def test_the_decision_by_horizon_with_promotion_off_makes_nothing_champion() -> None:
    by_horizon = _by_horizon(
        h1={NETWORK: 0.9, "persistence": 1.0}, h5={NETWORK: 1.9, "persistence": 2.0}
    )
    outcome = decide_by_horizon(by_horizon, promote=False)
    assert (outcome.decision, outcome.promote, outcome.new_champion) == ("promoted", False, None)
    # Nothing changes, and there is no champion to win anywhere.
    assert outcome.horizons_won == ()
    assert decide_by_horizon(by_horizon).new_champion == NETWORK


def test_the_decision_by_horizon_knows_only_the_rivals_it_is_given() -> None:
    by_horizon = _by_horizon(
        h1={NETWORK: 0.9, "persistence": 1.0, "garch": 0.8},
        h5={NETWORK: 1.9, "persistence": 2.0, "garch": 1.7},
    )
    # Among today's rivals GARCH gates and beats the network...
    assert decide_by_horizon(by_horizon).beaten_by == "garch"
    # ...but a gate told of persistence alone does not compare with it.
    alone = (Rival("persistence", "persistence", gates=True),)
    outcome = decide_by_horizon(by_horizon, rivals=alone)
    assert outcome.decision == "promoted"
    assert list(outcome.pinballs) == [NETWORK, "persistence"]
    assert outcome.horizons_won == (1, 5)

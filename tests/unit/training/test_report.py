"""The sentence after `mpp train`'s table says what the gate decided and what serves now,
built from the gate's outcome and the versions registered."""

from __future__ import annotations

from market_predictor.training.gate import decide
from market_predictor.training.report import outcome_message
from market_predictor.training.run import Registered


def _message(
    pinballs: dict[str, float],
    registered: Registered,
    *,
    promote: bool = True,
    previous: str | None = None,
    median_source: str | None = "network",
) -> str:
    return outcome_message(
        decide(pinballs, promote=promote),
        registered,
        network="transformer",
        previous=previous,
        median_source=median_source,
    )


def test_a_promoted_network_names_both_losses_and_the_champion_it_replaced() -> None:
    message = _message(
        {"model": 0.003, "persistence": 0.004, "champion": 0.0035},
        Registered(version="4", champion_version="4"),
        previous="3",
    )
    assert message == (
        "The Transformer beat persistence (pinball 0.00300 vs 0.00400) and champion version 3"
        " (0.00350) on the validation window; it is version 4 and now champion."
    )


def test_a_serving_garch_says_it_was_registered_and_is_champion() -> None:
    message = _message(
        {"model": 0.003, "persistence": 0.004, "garch": 0.002},
        Registered(version="1", champion_version="2", rivals={"garch": "2"}),
    )
    assert message == (
        "GARCH(1,1)-t beat the Transformer and persistence on the validation window (pinball"
        " 0.00200 vs 0.00300 and 0.00400); it was registered as version 2 and is champion"
        " (the Transformer is version 1, challenger)."
    )


def test_the_baseline_fallback_says_what_the_network_lost_to() -> None:
    registered = Registered(version="1", champion_version="2", baseline_version="2")
    assert _message({"model": 0.005, "persistence": 0.004}, registered) == (
        "The Transformer did not beat persistence on the validation window (pinball 0.00500"
        " vs 0.00400); the persistence baseline was registered as version 2 and is champion"
        " (the Transformer is version 1, challenger)."
    )
    # A tie with GARCH: neither serves, and the sentence says which rival stopped it.
    tie = _message({"model": 0.003, "persistence": 0.004, "garch": 0.003}, registered)
    assert tie.startswith(
        "The Transformer beat persistence (pinball 0.00300 vs 0.00400) but not GARCH(1,1)-t"
        " (0.00300); the persistence baseline was registered as version 2"
    )


def test_a_network_that_loses_to_the_champion_leaves_it_serving() -> None:
    message = _message(
        {"model": 0.003, "persistence": 0.004, "champion": 0.003},
        Registered(version="5", champion_version="3"),
        previous="3",
    )
    assert message == (
        "The Transformer beat persistence (pinball 0.00300 vs 0.00400) but not champion"
        " version 3 (0.00300); it is version 5 (challenger) and champion stays version 3."
    )


def test_a_network_that_loses_to_garch_is_not_said_to_pass_the_gate() -> None:
    message = _message(
        {"model": 0.003, "persistence": 0.004, "garch": 0.002, "champion": 0.001},
        Registered(version="5", champion_version="3"),
        previous="3",
    )
    assert message.startswith(
        "The Transformer beat persistence (pinball 0.00300 vs 0.00400) but not GARCH(1,1)-t"
        " (0.00200); it is version 5 (challenger) and champion stays version 3."
    )


def test_with_promotion_off_it_says_where_that_left_the_champion() -> None:
    passed = _message(
        {"model": 0.003, "persistence": 0.004},
        Registered(version="2", champion_version=None),
        promote=False,
    )
    assert passed == (
        "The Transformer passed the gate (pinball 0.00300 vs 0.00400); it is version 2"
        " (challenger) and promotion was off, which left the champion unset."
    )
    lost = _message(
        {"model": 0.005, "persistence": 0.004, "champion": 0.004},
        Registered(version="2", champion_version="1"),
        promote=False,
        previous="1",
    )
    assert lost == (
        "The Transformer did not beat persistence on the validation window (pinball 0.00500"
        " vs 0.00400); it is version 2 (challenger) and promotion was off, which left the"
        " champion at version 1."
    )


def test_a_median_that_fell_back_to_the_last_close_is_said_plainly() -> None:
    pinballs = {"model": 0.003, "persistence": 0.004}
    registered = Registered(version="1", champion_version="1")
    plain = _message(pinballs, registered, median_source="persistence")
    assert plain.endswith(
        " Its median forecast is the last close: the network's median did not beat no-change"
        " significantly on the months before the validation window, so what it adds is a"
        " better-calibrated interval."
    )
    assert "median" not in _message(pinballs, registered, median_source=None)


def test_a_chosen_rival_missing_from_the_comparison_is_named_with_its_reason() -> None:
    from market_predictor.training.gate import RIVALS
    from market_predictor.training.report import left_out

    chosen = [r for r in RIVALS if r.name in ("persistence", "garch", "har", "egarch")]
    reasons = left_out(
        chosen,
        fitted=["persistence", "garch", "har"],
        scored=["model", "persistence", "garch"],
        network="lstm",
    )
    assert reasons == {
        "har": "it forecast fewer than 50% of the LSTM's validation rows",
        "egarch": "it could not be fitted: no symbol has enough history",
    }
    assert (
        left_out(
            chosen, ["persistence", "garch", "har", "egarch"], [r.name for r in chosen], "lstm"
        )
        == {}
    )

"""What `mpp train` reports: the TrainResult and its plain sentences, built from the
gate's typed outcome and what was registered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from market_predictor.interval_tests import IntervalBacktest
from market_predictor.results import TrainResult
from market_predictor.training.config import NETWORK_DISPLAY_NAMES
from market_predictor.training.evaluate import MIN_SHARED_SHARE
from market_predictor.training.gate import (
    BASELINE,
    CHAMPION,
    COMBINED,
    LABELS,
    NETWORK,
    PERSISTENCE,
    SCORED,
    GateOutcome,
    Rival,
)
from market_predictor.training.run import Registered

if TYPE_CHECKING:
    from market_predictor.models.forecaster import Forecaster


def train_result(
    *,
    run_id: str,
    model_name: str,
    network: str,
    outcome: GateOutcome,
    registered: Registered,
    metrics: Mapping[str, Mapping[str, float]],
    horizon_metrics: Mapping[int, Mapping[str, Mapping[str, float]]],
    interval_tests: Mapping[str, IntervalBacktest],
    combined: Forecaster | None,
    lineage: dict[str, str],
    validation_start: dt.date,
    previous: str | None,
    epochs_trained: int | None,
    median_source: str | None,
    left_out: Mapping[str, str] | None = None,
) -> TrainResult:
    champion_now = registered.champion_version
    baseline = registered.baseline_version
    components = list(getattr(combined, "components", ())) if COMBINED in metrics else []
    return TrainResult(
        run_id=run_id,
        model_name=model_name,
        version=registered.version,
        is_baseline=baseline is not None and champion_now == baseline,
        became_champion=champion_now == registered.version,
        champion_version=champion_now,
        decision=outcome.decision if outcome.promote else f"not_promoted ({outcome.decision})",
        metrics={who: metrics.get(who) for who in SCORED},
        horizon_metrics={
            horizon: {who: scored[who] for who in SCORED if who in scored}
            for horizon, scored in horizon_metrics.items()
        },
        horizons_won=list(outcome.horizons_won),
        interval_tests=dict(interval_tests),
        combined_components=components,
        gate_measure=outcome.measure,
        gate_scores=dict(outcome.pinballs),
        lineage=lineage,
        message=outcome_message(
            outcome, registered, network=network, previous=previous, median_source=median_source
        )
        + _horizons_sentence(outcome, horizon_metrics)
        + _combined_sentence(components, network)
        + _left_out_sentence(left_out or {}),
        left_out=dict(left_out or {}),
        network=network,
        baseline_version=baseline,
        garch_version=registered.rivals.get("garch"),
        rival_versions=dict(registered.rivals),
        validation_start=validation_start,
        epochs_trained=epochs_trained,
        median_source=median_source,
    )


def outcome_message(
    outcome: GateOutcome,
    registered: Registered,
    *,
    network: str,
    previous: str | None,
    median_source: str | None,
) -> str:
    """Plain sentences on what happened, what serves forecasts now and, when the
    network's median fell back to the last close, that its gain is the interval.
    `previous` is the champion's version before the run."""
    message = _gate_sentence(
        outcome, registered, NETWORK_DISPLAY_NAMES.get(network, network), previous
    )
    if median_source == PERSISTENCE:
        message += (
            " Its median forecast is the last close: the network's median did not beat"
            " no-change significantly on the months before the validation window, so what"
            " it adds is a better-calibrated interval."
        )
    return message


def _gate_sentence(
    outcome: GateOutcome, registered: Registered, network: str, previous: str | None
) -> str:
    pinball = outcome.pinballs
    model, naive = pinball[NETWORK], pinball[PERSISTENCE]
    versus = f"({outcome.measure} {model:.5f} vs {naive:.5f})"
    version, chosen = registered.version, outcome.new_champion
    if chosen == NETWORK:
        rival = f" and champion version {previous} ({pinball[CHAMPION]:.5f})" if previous else ""
        return (
            f"The {network} beat persistence {versus}{rival} on the validation window; "
            f"it is version {version} and now champion."
        )
    challenger = f"(the {network} is version {version}, challenger)"
    if chosen in registered.rivals:
        return (
            f"{_capitalised(LABELS[chosen])} beat the {network} and persistence on the "
            f"validation window ({outcome.measure} {pinball[chosen]:.5f} vs {model:.5f} and "
            f"{naive:.5f}); it was registered as version {registered.rivals[chosen]} and is "
            f"champion {challenger}."
        )
    lost = _shortfall(outcome, network, versus, previous)
    if chosen == BASELINE:
        return (
            f"{lost}; the persistence baseline was registered as version "
            f"{registered.baseline_version} and is champion {challenger}."
        )
    now = registered.champion_version
    if not outcome.promote:
        left = f"at version {now}" if now else "unset"
        return (
            f"{lost}; it is version {version} (challenger) and promotion was off, "
            f"which left the champion {left}."
        )
    return f"{lost}; it is version {version} (challenger) and champion stays version {now}."


def _shortfall(outcome: GateOutcome, network: str, versus: str, previous: str | None) -> str:
    """What the network did not beat (or that it passed, with promotion off)."""
    beaten_by = outcome.beaten_by
    if beaten_by is None:
        return f"The {network} passed the gate {versus}"
    if beaten_by == PERSISTENCE:
        return f"The {network} did not beat persistence on the validation window {versus}"
    against = f"champion version {previous}" if beaten_by == CHAMPION else LABELS[beaten_by]
    return (
        f"The {network} beat persistence {versus} but not {against} "
        f"({outcome.pinballs[beaten_by]:.5f})"
    )


def _horizons_sentence(
    outcome: GateOutcome, horizon_metrics: Mapping[int, Mapping[str, Mapping[str, float]]]
) -> str:
    """Which horizons what serves wins, when there is more than the next day."""
    if len(horizon_metrics) < 2:
        return ""
    won = ", ".join(f"{h}-day" for h in outcome.horizons_won) or "none"
    return f" Horizons where what serves has the lowest pinball of every contestant: {won}."


def _combined_sentence(components: list[str], network: str) -> str:
    """Which forecasts the combined candidate averages, when it was scored."""
    if not components:
        return ""
    names = [
        f"the {NETWORK_DISPLAY_NAMES.get(network, network)}" if c == NETWORK else LABELS[c]
        for c in components
    ]
    return (
        f" The combined forecast averages the quantiles of {' and '.join(names)}"
        " (the best rival on the early-stopping months)."
    )


def left_out(
    chosen: Sequence[Rival], fitted: Collection[str], scored: Collection[str], network: str
) -> dict[str, str]:
    """Why each rival the settings chose is not in the gate's comparison: it could not be
    fitted (fit_rivals leaves out an optional rival with too little data), or it forecast
    too few of the network's validation rows (evaluate.validation_forecasts)."""
    display = NETWORK_DISPLAY_NAMES.get(network, network)
    reasons: dict[str, str] = {}
    for rival in chosen:
        if rival.name in scored:
            continue
        if rival.name not in fitted:
            reasons[rival.name] = "it could not be fitted: no symbol has enough history"
        else:
            reasons[rival.name] = (
                f"it forecast fewer than {MIN_SHARED_SHARE:.0%} of the {display}'s validation rows"
            )
    return reasons


def _left_out_sentence(reasons: Mapping[str, str]) -> str:
    if not reasons:
        return ""
    listed = "; ".join(f"{LABELS[name]} ({why})" for name, why in reasons.items())
    return f" Left out of the gate: {listed}."


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]

"""The champion gate: who the network is compared with, and what the comparison decides.

Every training run registers its network and makes it `challenger`. On the gate's
validation window (which none of them fitted on) the network becomes champion only
with a validation score strictly below every gating rival's and the current champion's:
a tie keeps what serves today. The score is the next-day pinball loss when the models
forecast only the next day; with several horizons it is the mean over horizons of each
horizon's pinball over persistence's there (losses in price units grow with the horizon,
so raw pinballs would let the longest horizon decide alone), and a contestant that does
not forecast a horizon (a champion trained for the next day only) counts as persistence
there. Otherwise a rival that may serve becomes
champion when its own loss is strictly below every other contestant's (the network's
included); otherwise, when nothing is champion yet, the persistence baseline is
registered as champion, so the daily job always has a forecast no worse than naive.

Adding a rival is one line in `RIVALS`: its name is the kind `fit_baseline` fits and
the prefix of its logged metrics (`val_<name>_<metric>`), so the run's tags, the
training result and the API's champion card pick it up from here. The one rival not
fitted by `fit_baseline` is the combined candidate (`COMBINED`): the quantile average of
the network and the best rival on the early-stopping months (`fit_combined`), which
gates and may serve like the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import fmean

NETWORK = "model"
CHAMPION = "champion"
PERSISTENCE = "persistence"
# The combined candidate (models/combined.py): built from the fitted network and rivals.
COMBINED = "combined"
# What becomes champion when the network loses and no champion exists yet.
BASELINE = "baseline"


@dataclass(frozen=True)
class Rival:
    name: str  # the kind `fit_baseline` fits; its metrics are logged as val_<name>_*
    label: str  # how a sentence names it
    gates: bool  # the network must beat it to be promoted
    may_serve: bool = False  # becomes champion itself when it beats every contestant
    # May be missing from a run: it could not be fitted, or it forecasts fewer of the
    # window's rows than the network (the comparison must not lose rows to it).
    optional: bool = False


RIVALS: tuple[Rival, ...] = (
    Rival(PERSISTENCE, "persistence", gates=True),
    Rival("drift", "drift", gates=False),
    Rival("garch", "GARCH(1,1)-t", gates=True, may_serve=True, optional=True),
    Rival("gjr_garch", "GJR-GARCH(1,1)", gates=True, may_serve=True, optional=True),
    Rival("egarch", "EGARCH(1,1)", gates=True, may_serve=True, optional=True),
    Rival("har", "log-HAR", gates=True, may_serve=True, optional=True),
    Rival(COMBINED, "the combined forecast", gates=True, may_serve=True, optional=True),
)
RIVAL_NAMES = tuple(rival.name for rival in RIVALS)
GATING = tuple(rival.name for rival in RIVALS if rival.gates)
OPTIONAL = tuple(rival.name for rival in RIVALS if rival.optional)
# The rivals the combined candidate may take beside the network: every gating one fitted
# on its own (not the combination itself, nor the champion of an earlier run).
COMBINABLE = tuple(name for name in GATING if name != COMBINED)
# Every forecaster whose validation metrics a run logs, in the order results show them.
SCORED = (NETWORK, *RIVAL_NAMES, CHAMPION)


def labels(rivals: tuple[Rival, ...] = RIVALS) -> dict[str, str]:
    """How sentences name each contestant."""
    return {CHAMPION: "the champion", **{rival.name: rival.label for rival in rivals}}


LABELS = labels()


@dataclass(frozen=True)
class GateOutcome:
    """What the gate compared and decided (before anything is registered)."""

    # Validation pinball of every contestant compared: the network, each gating rival
    # present, the champion when there is one.
    pinballs: Mapping[str, float]
    # The first contestant (in `pinballs` order) the network did not strictly beat;
    # None when it beat them all.
    beaten_by: str | None
    # "promoted" or "rejected_vs_<beaten_by>": a plain string rather than a Literal, so
    # that a new gating rival stays one line in RIVALS.
    decision: str
    reason: str
    # The contestant strictly below every other one (None: a tie for the lowest).
    winner: str | None
    # What the gate makes champion: NETWORK, a rival that may serve, BASELINE, or None
    # (the champion stays, or promotion was off).
    new_champion: str | None
    promote: bool
    # What `pinballs` holds: "pinball" (next day only) or "relative pinball" (see above).
    measure: str = "pinball"
    # Horizons at which the new champion's pinball is strictly below every other
    # contestant's there (empty when nothing changes).
    horizons_won: tuple[int, ...] = field(default=())


PINBALL = "pinball"
RELATIVE_PINBALL = "relative pinball"


def scores(
    by_horizon: Mapping[int, Mapping[str, Mapping[str, float]]],
) -> tuple[dict[str, float], str]:
    """Each contestant's gate score from its validation metrics by horizon, and the
    score's name (see the module's docstring)."""
    if list(by_horizon) == [1]:
        return {who: values[PINBALL] for who, values in by_horizon[1].items()}, PINBALL
    everyone = list(by_horizon[1])
    relative: dict[str, list[float]] = {who: [] for who in everyone}
    for metrics in by_horizon.values():
        naive = metrics[PERSISTENCE][PINBALL]
        for who in everyone:
            relative[who].append(metrics[who][PINBALL] / naive if who in metrics else 1.0)
    return {who: fmean(values) for who, values in relative.items()}, RELATIVE_PINBALL


def horizons_won(
    by_horizon: Mapping[int, Mapping[str, Mapping[str, float]]],
    who: str | None,
    compared: Mapping[str, float],
) -> tuple[int, ...]:
    """The horizons at which `who` has the strictly lowest pinball among `compared`'s
    contestants that forecast that horizon."""
    won = []
    for horizon, metrics in by_horizon.items():
        if who is None or who not in metrics:
            continue
        others = [metrics[o][PINBALL] for o in compared if o != who and o in metrics]
        if all(metrics[who][PINBALL] < other for other in others):
            won.append(int(horizon))
    return tuple(won)


def decide(
    pinballs: Mapping[str, float],
    *,
    promote: bool = True,
    rivals: tuple[Rival, ...] = RIVALS,
    measure: str = PINBALL,
) -> GateOutcome:
    """The gate's outcome from the validation pinball of each forecaster, by its SCORED
    name (an optional rival or the champion absent from `pinballs` is not in the
    contest; non-gating rivals are ignored). `promote=False` decides the same but makes
    nothing champion."""
    compared = contestants(pinballs, rivals)
    beaten_by, reason = verdict(compared, labels(rivals), measure)
    winner = strict_winner(compared)
    return GateOutcome(
        pinballs=compared,
        beaten_by=beaten_by,
        decision="promoted" if beaten_by is None else f"rejected_vs_{beaten_by}",
        reason=reason,
        winner=winner,
        new_champion=champion_after(winner, CHAMPION in compared, rivals) if promote else None,
        promote=promote,
        measure=measure,
    )


def decide_by_horizon(
    by_horizon: Mapping[int, Mapping[str, Mapping[str, float]]],
    *,
    promote: bool = True,
    rivals: tuple[Rival, ...] = RIVALS,
) -> GateOutcome:
    """`decide` on the gate scores of metrics by horizon, saying at which horizons
    what serves afterwards (the new champion, else the champion that stays) wins."""
    score, measure = scores(by_horizon)
    outcome = decide(score, promote=promote, rivals=rivals, measure=measure)
    serving = {None: CHAMPION, BASELINE: PERSISTENCE}.get(
        outcome.new_champion, outcome.new_champion
    )
    won = horizons_won(by_horizon, serving, outcome.pinballs)
    return GateOutcome(**{**outcome.__dict__, "horizons_won": won})


def contestants(
    pinballs: Mapping[str, float], rivals: tuple[Rival, ...] = RIVALS
) -> dict[str, float]:
    """The network, each gating rival (an optional one only when present), then the
    champion if there is one; KeyError when the network or a required rival is missing."""
    compared = {NETWORK: pinballs[NETWORK]}
    for rival in rivals:
        if rival.gates and (rival.name in pinballs or not rival.optional):
            compared[rival.name] = pinballs[rival.name]
    if CHAMPION in pinballs:
        compared[CHAMPION] = pinballs[CHAMPION]
    return compared


def verdict(
    compared: Mapping[str, float], names: Mapping[str, str], measure: str = PINBALL
) -> tuple[str | None, str]:
    """The first contestant the network does not strictly beat (None: it beats all),
    and the reason, naming both losses (`names`: how to call each contestant)."""
    network = compared[NETWORK]
    for name, pinball in compared.items():
        if name != NETWORK and not network < pinball:
            return name, f"{measure} {network:.5f} does not beat {names[name]} {pinball:.5f}"
    return None, f"{measure} {network:.5f} beats every rival"


def strict_winner(compared: Mapping[str, float]) -> str | None:
    """The contestant whose pinball is strictly below every other's."""
    for name, pinball in compared.items():
        if all(pinball < other for who, other in compared.items() if who != name):
            return name
    return None


def champion_after(winner: str | None, has_champion: bool, rivals: tuple[Rival, ...]) -> str | None:
    """The winner when it is the network or a rival that may serve; else the baseline
    when nothing is champion yet; else None (nothing changes)."""
    if winner == NETWORK or winner in {rival.name for rival in rivals if rival.may_serve}:
        return winner
    if not has_champion:
        return BASELINE
    return None

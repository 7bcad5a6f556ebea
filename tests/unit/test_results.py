"""The typed results' verdicts: a monitoring day asks for a retrain when a test fired at
any horizon, and names every reason per symbol."""

from __future__ import annotations

import datetime as dt
import json

from market_predictor.results import MonitorResult, SymbolSkill


def _row(reason: str = "") -> SymbolSkill:
    return SymbolSkill(n=60, retrain_recommended=bool(reason), reason=reason)


def _result(**horizons: dict[str, SymbolSkill]) -> MonitorResult:
    by_horizon = {int(name.removeprefix("h")): rows for name, rows in horizons.items()}
    return MonitorResult(
        as_of=dt.date(2013, 3, 1),
        model_name="m",
        symbols=by_horizon.pop(1, {}),
        horizons=by_horizon,
    )


def test_a_test_fired_at_any_horizon_asks_for_a_retrain_with_every_reason() -> None:
    result = _result(
        h1={"AAA": _row("coverage: 0.5"), "BBB": _row(), "CCC": _row()},
        h21={"AAA": _row("bias:h21: 9"), "CCC": _row("coverage:h21: 0")},
        h5={"BBB": _row("skill:h5: 7"), "AAA": _row(), "CCC": _row("bias:h5: 8")},
    )
    assert result.retrain_recommended
    # The next day's reasons first, then by horizon.
    assert result.reasons == {
        "AAA": "coverage: 0.5; bias:h21: 9",
        "BBB": "skill:h5: 7",
        "CCC": "bias:h5: 8; coverage:h21: 0",
    }
    assert list(result.reasons) == ["AAA", "BBB", "CCC"]
    served = json.loads(result.model_dump_json())
    assert served["retrain_recommended"] is True and served["reasons"] == result.reasons


def test_a_longer_horizon_alone_can_ask_for_a_retrain() -> None:
    result = _result(h1={"AAA": _row()}, h5={"AAA": _row("coverage:h5: 0.2")})
    assert result.retrain_recommended and result.reasons == {"AAA": "coverage:h5: 0.2"}


def test_a_day_where_nothing_fired_asks_for_nothing() -> None:
    result = _result(h1={"AAA": _row()}, h5={"AAA": _row()}, h21={"BBB": _row()})
    assert not result.retrain_recommended and result.reasons == {}
    assert not _result().retrain_recommended

"""`mpp predict`'s output for a multi-horizon batch: --json lists every symbol and
horizon with its target date; the table has one line per symbol and horizon."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from market_predictor.cli._common import run_command
from market_predictor.cli.predict import render_predictions
from market_predictor.results import Forecast, PredictionBatch

AS_OF = dt.date(2024, 4, 11)
TARGETS = {1: dt.date(2024, 4, 12), 5: dt.date(2024, 4, 18), 21: dt.date(2024, 5, 10)}


def _forecast(symbol: str, horizon: int) -> Forecast:
    last = 100.0 if symbol == "AAA" else 50.0
    return Forecast(
        symbol=symbol,
        horizon=horizon,
        target_date=TARGETS[horizon],
        last_close=last,
        predicted_close=last + horizon,
        lower=last - horizon,
        upper=last + 2 * horizon,
        predicted_return=0.01,
    )


# Not in display order on purpose: the table sorts by symbol, then horizon.
BATCH = PredictionBatch(
    as_of=AS_OF,
    target_date=TARGETS[1],
    model_name="m",
    model_version="3",
    run_id="r",
    is_baseline=False,
    predictions=[_forecast(s, h) for h in (21, 1, 5) for s in ("BBB", "AAA")],
    inserted=6,
)


def test_json_lists_every_symbol_and_horizon_with_its_target_date(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_command(lambda: BATCH, json_output=True)
    payload = json.loads(capsys.readouterr().out)
    listed = {(p["symbol"], p["horizon"]): p for p in payload["predictions"]}
    assert set(listed) == {(s, h) for s in ("AAA", "BBB") for h in (1, 5, 21)}
    for (_, horizon), row in listed.items():
        assert row["target_date"] == TARGETS[horizon].isoformat()
        assert row["upper"] - row["lower"] == pytest.approx(3 * horizon)
    assert payload["predicted"] == 6


def test_the_table_has_one_line_per_symbol_and_horizon_in_order(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from market_predictor.cli import _common

    monkeypatch.setattr(_common.console, "width", 120)
    render_predictions(BATCH)
    lines = [
        line for line in capsys.readouterr().out.splitlines() if "AAA" in line or "BBB" in line
    ]
    cells = [line.replace("│", " ").split() for line in lines]
    assert [(c[0], c[1], c[2]) for c in cells] == [
        (s, f"{h}d", TARGETS[h].isoformat()) for s in ("AAA", "BBB") for h in (1, 5, 21)
    ]
    # AAA's 21-day range beside its next-day one: 79.00 to 142.00.
    assert cells[2][-2:] == ["79.00", "142.00"]

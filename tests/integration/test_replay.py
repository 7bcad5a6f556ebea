from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings
from market_predictor.ingest import ingest_prices
from market_predictor.pipeline import replay
from market_predictor.store import FeatureStore

D = dt.date
runner = CliRunner()
FIRST, LAST = D(2012, 12, 3), D(2012, 12, 7)


def _outputs(settings: Settings) -> dict[str, pd.DataFrame]:
    """Every row replay writes, without the write timestamps."""
    store = FeatureStore.from_settings(settings)
    tables = {
        "predictions": store.predictions.read(),
        "errors": store.errors.read(),
        "summary": store.summary.read(),
        # The online interval scale: the state each day's monitor stored.
        "scales": store.scales.read_rows().sort_values(["date", "symbol", "horizon"]),
    }
    return {
        name: frame.drop(columns="created_at").sort_values(
            list(frame.columns[:3]), ignore_index=True
        )
        for name, frame in tables.items()
    }


def test_replay_writes_every_day_and_a_second_replay_changes_no_row(ops_home: Settings) -> None:
    result = runner.invoke(
        app, ["replay", "--start", "2012-12-01", "--end", "2012-12-07", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["trading_days"] == 5  # Saturday 1 December is not one
    assert summary["predictions_inserted"] == 10
    assert summary["errors_inserted"] == 8
    first = _outputs(ops_home)
    assert len(first["summary"]) == 10

    again = replay(ops_home, start=FIRST, end=LAST)
    assert again.predictions_inserted == 0
    assert again.errors_inserted == 0
    second = _outputs(ops_home)
    for name, frame in first.items():
        pd.testing.assert_frame_equal(frame, second[name], obj=name)


def test_replay_over_a_store_holding_the_future_matches_day_by_day_arrival(
    ops_home: Settings, ops_template: Path, tmp_path: Path
) -> None:
    # Home A receives each day's prices as the replay reaches it.
    replay(ops_home, start=FIRST, end=LAST)
    # Home B already holds a month past the range: reads must be cut at each as-of date.
    home_b = tmp_path / "home-b"
    shutil.copytree(ops_template, home_b)
    full = ops_home.model_copy(update={"home": home_b})
    ingest_prices(full, start=FIRST, as_of=D(2012, 12, 31))
    replay(full, start=FIRST, end=LAST)

    arrived, preloaded = _outputs(ops_home), _outputs(full)
    for name, frame in arrived.items():
        pd.testing.assert_frame_equal(frame, preloaded[name], obj=name)
    # The served intervals compared above were scaled online: the state had moved.
    scales = arrived["scales"]
    assert len(scales) == 10 and (scales["log_scale_lower"] != 0).any()
    # Each forecast starts from its own as-of close, never a later one.
    prices = FeatureStore.from_settings(full).prices().read()
    starts = arrived["predictions"].merge(
        prices, left_on=["symbol", "as_of_date"], right_on=["symbol", "date"]
    )
    assert len(starts) == 10
    assert (starts["last_close"] - starts["close"]).abs().max() < 1e-6


def test_replay_refuses_a_champion_trained_after_its_start(ops_home: Settings) -> None:
    result = runner.invoke(app, ["replay", "--start", "2012-11-26", "--end", "2012-11-30"])
    assert result.exit_code == 2
    assert "would use the future" in result.stderr
    assert not FeatureStore.from_settings(ops_home).predictions.exists()


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2012-12-07", "2012-12-03", "after end"),
        ("2012-12-08", "2012-12-09", "no XNYS trading days"),
        ("2012-13-01", "2012-12-09", "malformed start date"),
        ("2012-12-03", "2099-01-02", "in the future"),
    ],
)
def test_bad_replay_ranges_exit_2_and_write_nothing(
    ops_home: Settings, start: str, end: str, message: str
) -> None:
    result = runner.invoke(app, ["replay", "--start", start, "--end", end])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not FeatureStore.from_settings(ops_home).predictions.exists()

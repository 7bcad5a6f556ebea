from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from market_predictor import calendar
from market_predictor.config import Settings, get_settings
from market_predictor.demo import DEMO_SYMBOLS, run_demo
from market_predictor.store import FeatureStore

SAMPLE_END = "2013-03-01"
TINY_TRAINING = "model: mlp\nwindow: 5\nhidden_size: 4\nmax_epochs: 1\nvalidation_months: 3\n"


def _rows(settings: Settings) -> dict[str, pd.DataFrame]:
    store = FeatureStore.from_settings(settings)
    return {
        name: getattr(store, name).read().drop(columns="created_at")
        for name in ("predictions", "errors", "summary")
    }


def test_short_demo_replays_the_last_days_and_a_rerun_changes_no_row(
    mlflow_home: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_TRAINING)
    monkeypatch.setenv("MPP_TRAINING_CONFIG", str(config))
    get_settings.cache_clear()
    settings = get_settings()

    first = run_demo(settings, max_epochs=1, replay_days=3)
    assert first["failed_step"] is None
    assert str(first["replay_end"]) == SAMPLE_END
    assert first["train_until"] == calendar.shift_trading_days(first["replay_end"], -3, "XNYS")
    assert first["champion"]["trained_until"] == first["train_until"]
    assert first["table_rows"] == {"predictions": 12, "errors": 8, "summary": 12}
    assert sorted(first["symbols"]) == sorted(DEMO_SYMBOLS)
    assert all(
        row["latest"]["target_date"].isoformat() == "2013-03-04"
        for row in first["symbols"].values()
    )
    assert first["mlflow_ui"].startswith("mlflow ui --backend-store-uri sqlite:///")
    # Each symbol reports its online interval scale, within the rule's bound (x3).
    for row in first["symbols"].values():
        scale = row["interval_scale"]
        assert 1 / 3 <= scale["lower"] <= 3 and 1 / 3 <= scale["upper"] <= 3
    # ... and backtests the next-day intervals it served: every realised error counted,
    # each tail's hits those of the stored errors.
    errors = FeatureStore.from_settings(settings).errors.read()
    errors = errors[errors["horizon"] == 1]
    for symbol, row in first["symbols"].items():
        mine = errors[errors["symbol"] == symbol]
        tests = row["interval_tests"]
        assert tests["interval"]["n"] == row["n"] == len(mine)
        assert tests["lower"]["hits"] == int((mine["actual_close"] < mine["lower"]).sum())
        assert tests["upper"]["hits"] == int((mine["actual_close"] > mine["upper"]).sum())
    assert first["champion"]["kind"] in {
        "network",
        "persistence",
        "combined",
        "garch",
        "gjr_garch",
        "egarch",
        "har",
        "drift",
    }
    before = _rows(settings)

    second = run_demo(settings, max_epochs=1, replay_days=3)
    assert second["champion"]["how"].startswith("reused")
    assert second["replay"]["predictions_inserted"] == 0
    after = _rows(settings)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[name], obj=name)


@pytest.mark.slow  # the full demo, about 1.5 minutes on 2 cores: `make test-all` runs it
def test_mpp_demo_runs_offline_and_fills_sixty_days_per_symbol(tmp_path: Path) -> None:
    # The real demo, end to end (its duration is measured in docs/benchmarks.md, not here).
    result = subprocess.run(
        [str(Path(sys.executable).with_name("mpp")), "demo", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    # 60 as-of days x 4 symbols; the last day's forecast targets the day after the sample.
    assert summary["table_rows"] == {"predictions": 240, "errors": 236, "summary": 240}

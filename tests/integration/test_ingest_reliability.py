"""Crash safety and concurrency of `mpp ingest`, with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from market_predictor.config import Settings
from market_predictor.store import FeatureStore

MPP = str(Path(sys.executable).with_name("mpp"))


def _mpp(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([MPP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_ingest_killed_mid_write_leaves_previous_version_and_rerun_completes(
    settings: Settings, tmp_path: Path
) -> None:
    from bench.synthetic import write_universe

    n_symbols = 250
    path = write_universe(tmp_path / "universe.parquet", n_symbols=n_symbols, years=10)
    symbols = ",".join(f"SYN{i:03d}" for i in range(n_symbols))
    first = _mpp("ingest", "--source", "sample", "--symbols", "IBM", "--start", "2013-01-02")
    assert first.wait(60) == 0, first.stderr.read() if first.stderr else ""
    prices = FeatureStore.from_settings(settings).prices()
    before_version = prices.table_version()
    before_rows = prices.read()
    table_dir = Path(prices.uri)
    existing = _files(table_dir)

    args = ("ingest", "--source", "parquet", "--path", str(path), "--symbols", symbols)
    victim = _mpp(*args)
    deadline = time.monotonic() + 120
    # Kill the moment the new data file starts to appear: the write is under way and
    # its commit (the _delta_log entry that follows the file) has not happened yet.
    while victim.poll() is None and time.monotonic() < deadline:
        if _files(table_dir) - existing:
            break
        time.sleep(0.002)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(30) == -signal.SIGKILL, "the ingest finished before it could be killed"

    assert prices.table_version() == before_version
    assert prices.read().equals(before_rows)

    rerun = _mpp(*args, "--json")
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    summary = json.loads(out)
    assert summary["inserted"] == summary["fetched"]
    stored = prices.read(columns=["symbol", "date"])
    assert len(stored) == len(before_rows) + summary["inserted"]
    assert not stored.duplicated().any()


def test_two_concurrent_ingests_of_different_symbols_both_land(settings: Settings) -> None:
    common = ("ingest", "--source", "sample", "--as-of", "2013-03-01", "--json")
    runs = [_mpp(*common, "--symbols", "AAPL,MSFT"), _mpp(*common, "--symbols", "IBM,GOOG")]
    outputs = [run.communicate(timeout=120) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    inserted = sum(json.loads(out)["inserted"] for out, _ in outputs)

    prices = FeatureStore.from_settings(settings).prices()
    stored = prices.read(columns=["symbol", "date"])
    assert sorted(stored["symbol"].unique()) == ["AAPL", "GOOG", "IBM", "MSFT"]
    assert len(stored) == inserted == 3270 * 3 + 2148
    assert not stored.duplicated().any()
    assert sorted(prices.statistics()["symbol"].unique()) == ["AAPL", "GOOG", "IBM", "MSFT"]
    assert os.environ["MPP_HOME"] in prices.uri

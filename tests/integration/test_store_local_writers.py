"""Writers on one machine: processes upserting one local table at the same time. A write
whose keys are all new appends instead of merging (cheaper); the table's lock must make
that as safe as the merge: the same keys written twice at once land once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from market_predictor.store import FeatureStore

_WRITER = """
import sys, time
import pandas as pd
from market_predictor.store import FeatureStore

uri, start_at, days = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
store = FeatureStore(uri)
while time.time() < start_at:
    time.sleep(0.005)
for day in pd.bdate_range("2013-01-02", periods=days):
    rows = [
        {
            "symbol": symbol, "as_of_date": day, "target_date": day + pd.Timedelta(days=1),
            "horizon": 1, "model_name": "m", "model_version": "1", "last_close": 10.0,
            "predicted_close": 10.0, "lower": 9.0, "upper": 11.0, "predicted_return": 0.0,
            "run_id": "r", "created_at": pd.Timestamp("2013-01-05", tz="UTC"),
        }
        for symbol in ("AAPL", "MSFT", "IBM")
    ]
    store.predictions.write(pd.DataFrame(rows))
"""

DAYS = 8


def test_processes_writing_the_same_new_keys_at_once_store_each_key_once(
    tmp_path: Path,
) -> None:
    uri = str(tmp_path / "store")
    start_at = time.time() + 3.0  # all processes imported and waiting by then
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, uri, str(start_at), str(DAYS)])
        for _ in range(3)
    ]
    for writer in writers:
        assert writer.wait(timeout=240) == 0

    stored = FeatureStore(uri).predictions.read()
    assert len(stored) == DAYS * 3
    assert not stored.duplicated(["symbol", "as_of_date", "horizon"]).any()
    operations = [c["operation"] for c in FeatureStore(uri).predictions.history()]
    # Each day's keys were new to exactly one writer: one append each, the rest merges
    # that found every row already there.
    assert operations.count("WRITE") == DAYS
    assert pd.Series(stored["as_of_date"]).nunique() == DAYS

"""Writers on several machines: two processes, each with its own home (so its own lock
folder), write the same S3 table at the same time. Delta's commit on S3 is a PUT of
the next log entry with `If-None-Match: *`, so of two writers racing for a version
one gets 412 and retries on top of the other's commit: no update is lost and the log
stays a gapless sequence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from market_predictor.store import FeatureStore
from market_predictor.store.delta import Table
from tests.fixtures.services import S3Server

pytestmark = pytest.mark.s3

DAYS = 6
BURST = 25

_WRITER = """
import sys, time
import pandas as pd
import pyarrow as pa
from market_predictor.sources.sample import load_sample_prices
from market_predictor.store import FeatureStore
from market_predictor.store.delta import Table

uri, symbol, start_at, days, bursts = sys.argv[1:]
rows = load_sample_prices()
rows = rows[(rows["symbol"] == symbol) & (rows["date"] >= pd.Timestamp("2013-01-02"))]
rows = rows.head(int(days)).drop(columns="adjusted").reset_index(drop=True)
rows = rows.assign(source="sample", ingested_at=pd.Timestamp.now(tz="UTC"))
store = FeatureStore(uri)
prices = store.prices()
race = Table(store.backend, "race", pa.schema([("writer", pa.string()), ("seq", pa.int64())]))
while time.time() < float(start_at):
    time.sleep(0.005)
for day in range(len(rows)):  # one commit per day, as a daily ingest makes
    prices.upsert(rows.iloc[[day]], metadata={"writer": symbol})
for seq in range(int(bursts)):  # then commits as fast as they go, racing for versions
    race.append(pd.DataFrame({"writer": [symbol], "seq": [seq]}))
"""


@pytest.mark.slow  # about a minute on 2 shared cores
def test_two_machines_writing_one_s3_table_lose_nothing(
    logged_s3: S3Server, tmp_path: Path
) -> None:
    logged_s3.create_bucket("shared")
    uri = "s3://shared/mpp"
    start_at = time.time() + 3.0  # both processes imported and waiting by then
    writers = []
    for symbol in ("AAPL", "IBM"):
        env = os.environ | logged_s3.environment() | {"MPP_HOME": str(tmp_path / symbol)}
        writers.append(
            subprocess.Popen(
                [sys.executable, "-c", _WRITER, uri, symbol, str(start_at), str(DAYS), str(BURST)],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for writer in writers:
        _, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err[-3000:]

    for name, value in logged_s3.environment().items():
        os.environ.setdefault(name, value)  # the reading side of this test
    prices = FeatureStore(uri).prices()
    stored = prices.read()
    assert stored.groupby("symbol").size().to_dict() == {"AAPL": DAYS, "IBM": DAYS}
    assert not stored.duplicated(["symbol", "date"]).any()

    table = prices.table.open()
    history = table.history()
    versions = sorted(int(commit["version"]) for commit in history)
    assert versions == list(range(2 * DAYS))  # one commit per upsert, no gap, no overwrite
    writers_in_order = [
        commit["writer"] for commit in sorted(history, key=lambda c: int(c["version"]))
    ]
    assert writers_in_order.count("AAPL") == writers_in_order.count("IBM") == DAYS

    race = Table(prices.table.backend, "race", prices.table.schema).open()
    appended = race.to_pyarrow_table().to_pandas()
    assert appended.groupby("writer")["seq"].apply(sorted).to_dict() == {
        "AAPL": list(range(BURST)),
        "IBM": list(range(BURST)),
    }
    assert race.version() == 2 * BURST - 1

    puts = logged_s3.commit_puts()
    assert puts and all(p["if_none_match"] == "*" for p in puts)
    assert all(p["copy_source"] is None for p in puts)  # no copy-then-delete "rename"
    for table in ("/shared/mpp/feature_groups/prices/v1/", "/shared/mpp/race/"):
        accepted = [p["path"] for p in puts if p["status"] == 200 and p["path"].startswith(table)]
        assert len(accepted) == len(set(accepted))  # each version written exactly once
    refused = [p for p in puts if p["status"] != 200]
    assert all(p["status"] in (409, 412) for p in refused)
    print(json.dumps({"commit_puts": len(puts), "refused_and_retried": len(refused)}))


def test_a_writer_losing_the_race_for_a_version_commits_the_next_one(
    logged_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic: the server plants another writer's commit for version 1 between
    our writer's look at the log and its PUT of version 1. The PUT is refused (412),
    and the writer commits version 2 on top: both rows are there."""
    import boto3
    import pandas as pd

    logged_s3.create_bucket("race")
    for name, value in logged_s3.environment().items():
        monkeypatch.setenv(name, value)
    schema = pa.schema([("writer", pa.string()), ("seq", pa.int64())])
    ours = Table(FeatureStore("s3://race/mpp").backend, "t", schema)
    ours.append(pd.DataFrame({"writer": ["first"], "seq": [0]}))
    # The other writer's commit: made on a copy of the table, its data file copied over.
    theirs = Table(FeatureStore("s3://race/other").backend, "t", schema)
    theirs.append(pd.DataFrame({"writer": ["first"], "seq": [0]}))
    theirs.append(pd.DataFrame({"writer": ["other"], "seq": [1]}))
    s3 = boto3.client("s3", endpoint_url=logged_s3.endpoint, region_name="us-east-1")
    added = [
        obj["Key"]
        for obj in s3.list_objects_v2(Bucket="race", Prefix="other/t/")["Contents"]
        if obj["Key"].endswith(".parquet")
    ]
    for key in added:
        s3.copy_object(
            Bucket="race",
            Key=key.replace("other/", "mpp/", 1),
            CopySource={"Bucket": "race", "Key": key},
        )
    entry = "t/_delta_log/00000000000000000001.json"
    body = s3.get_object(Bucket="race", Key=f"other/{entry}")["Body"].read()
    logged_s3.plant_commit(f"race/mpp/{entry}", body)

    ours.append(pd.DataFrame({"writer": ["ours"], "seq": [2]}))

    assert ours.read().sort_values("seq")["writer"].tolist() == ["first", "other", "ours"]
    assert ours.version() == 2
    attempts = [
        (Path(str(p["path"])).name, p["status"])
        for p in logged_s3.commit_puts()
        if str(p["path"]).startswith("/race/mpp/")
    ]
    assert attempts == [
        ("00000000000000000000.json", 200),
        ("00000000000000000001.json", 412),  # ours, refused: the planted commit holds it
        ("00000000000000000002.json", 200),  # ours, on top
    ]

"""The whole system on the engines a team runs: the feature store on S3 (moto's server),
MLflow as a real `mlflow server` process with PostgreSQL as its backend store and its
artifacts in S3. Ingest -> train -> a replay of a few days -> reads must give what the
embedded run (local folder, SQLite) gives on the same data."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import boto3
import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.ingest import ingest_prices
from market_predictor.pipeline import replay
from market_predictor.registry import load_champion
from market_predictor.store import FeatureStore
from market_predictor.store.reads import read_errors, read_predictions, read_summary
from market_predictor.training import train
from tests.fixtures.services import PostgresServer, S3Server, start_mlflow_server, stop_process

# About 2 minutes on a quiet machine (the MLflow server migrates PostgreSQL, two trainings);
# ten under heavy load.
pytestmark = [pytest.mark.slow, pytest.mark.s3, pytest.mark.timeout(1800)]

SYMBOLS = ["AAPL", "MSFT"]
HISTORY_START, TRAINED_UNTIL = dt.date(2011, 6, 1), dt.date(2012, 11, 30)
FIRST, LAST = dt.date(2012, 12, 3), dt.date(2012, 12, 6)


def _run(settings: Settings) -> dict[str, object]:
    """The production path, returning what the API would read back."""
    ingest_prices(settings, start=HISTORY_START, as_of=TRAINED_UNTIL)
    trained = train(settings, end=TRAINED_UNTIL, max_epochs=1)
    replayed = replay(settings, start=FIRST, end=LAST, retrain=False)
    assert replayed.failed_step is None, replayed.error
    store = FeatureStore.from_settings(settings)
    champion = load_champion(settings)
    return {
        "trained": trained,
        "champion": (champion.version, champion.is_baseline, champion.trained_until),
        "prices": len(store.prices().read()),
        "predictions": read_predictions(store),
        "errors": read_errors(store),
        "summary": read_summary(store),
    }


def test_s3_mlflow_server_and_postgres_give_the_embedded_answers(
    postgres: PostgresServer,
    logged_s3: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logged_s3.create_bucket("stack")
    for name, value in logged_s3.environment().items():
        monkeypatch.setenv(name, value)
    postgres.create_database("mlflow_stack")
    server = start_mlflow_server(
        postgres.url("mlflow_stack"),
        "s3://stack/mlflow",
        env=os.environ | {"MLFLOW_S3_ENDPOINT_URL": logged_s3.endpoint},
        log=tmp_path / "mlflow-server.log",
    )
    try:
        remote = _run(
            Settings(
                home=tmp_path / "remote",
                store_uri="s3://stack/store",
                mlflow_tracking_uri=server.url,
                source="sample",
                symbols=SYMBOLS,
            )
        )
    finally:
        stop_process(server.process)
    embedded = _run(Settings(home=tmp_path / "embedded", source="sample", symbols=SYMBOLS))

    assert remote["champion"] == embedded["champion"]
    assert remote["prices"] == embedded["prices"] > 0
    for table in ("errors", "summary"):
        assert len(remote[table]) == len(embedded[table]) > 0  # type: ignore[arg-type]
    ours, theirs = remote["predictions"], embedded["predictions"]
    assert isinstance(ours, pd.DataFrame) and isinstance(theirs, pd.DataFrame)
    assert len(ours) == len(theirs) == len(SYMBOLS) * 4
    keys = ["symbol", "as_of_date", "target_date"]
    pd.testing.assert_frame_equal(
        ours[[*keys, "predicted_close", "lower", "upper"]].reset_index(drop=True),
        theirs[[*keys, "predicted_close", "lower", "upper"]].reset_index(drop=True),
        rtol=1e-6,
    )
    # The tables and the model artifacts really are in S3.
    stored = [str(p["path"]) for p in logged_s3.commit_puts()]
    assert any(p.startswith("/stack/store/predictions/") for p in stored)
    s3 = boto3.client("s3", endpoint_url=logged_s3.endpoint, region_name="us-east-1")
    assert s3.list_objects_v2(Bucket="stack", Prefix="mlflow/")["KeyCount"] > 0

"""The whole system on the engines a team runs: the feature store on S3 (moto's server),
MLflow as a real `mlflow server` process with PostgreSQL as its backend store and its
artifacts in S3, the API under uvicorn and the Airflow DAG with PostgreSQL as its
metadata database. Ingest -> train -> a replay of a few days -> one more day by the
DAG -> API reads must give what the embedded run (local folder, SQLite, in-process
daily job and app) gives on the same data."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx
import pandas as pd
import psycopg
import pytest

from market_predictor.config import Settings
from market_predictor.ingest import ingest_prices
from market_predictor.pipeline import replay, run_daily
from market_predictor.registry import load_champion
from market_predictor.store import FeatureStore
from market_predictor.training import train
from tests.fixtures.services import (
    PostgresServer,
    S3Server,
    start_mlflow_server,
    start_mpp_serve,
    stop_process,
)

# About 2 minutes on a quiet machine (the MLflow server and Airflow migrate PostgreSQL,
# two trainings, a cold `mpp airflow test` and `mpp serve`); 3.5 on 2 cores shared with
# three other jobs (load 7).
pytestmark = [pytest.mark.slow, pytest.mark.s3, pytest.mark.timeout(1800)]

MPP = str(Path(sys.executable).with_name("mpp"))
SYMBOLS = ["AAPL", "MSFT"]
HISTORY_START, TRAINED_UNTIL = dt.date(2011, 6, 1), dt.date(2012, 11, 30)
FIRST, LAST = dt.date(2012, 12, 3), dt.date(2012, 12, 6)
DAG_DAY = dt.date(2012, 12, 7)  # a Friday: the DAG's day after the replay
KEYS = ["symbol", "as_of_date", "target_date"]
FORECAST = [*KEYS, "predicted_close", "lower", "upper"]

# What the API serves, for each symbol and overall, including a 404.
ROUTES = [
    "/symbols",
    "/overview",
    "/models",
    "/models/champion",
    "/available_stock_symbols",
    "/predictions/ZZZ",
    *(
        route.format(symbol=symbol)
        for symbol in SYMBOLS
        for route in (
            "/predictions/{symbol}",
            "/predictions/{symbol}/latest",
            "/predictions/{symbol}/2012/12",
            "/metrics/{symbol}",
            "/metrics/{symbol}/2012/12",
            "/prices/{symbol}",
        )
    ),
]
# Differ between two registries by nature: MLflow's run ids and registration times.
VOLATILE = {"run_id", "created_at", "trained_at"}


def _run(settings: Settings) -> dict[str, object]:
    """The production path, returning what the API would read back."""
    ingest_prices(settings, start=HISTORY_START, as_of=TRAINED_UNTIL)
    trained = train(settings, end=TRAINED_UNTIL, max_epochs=1)
    replayed = replay(settings, start=FIRST, end=LAST, retrain=False)
    assert replayed.failed_step is None, replayed.error
    return {"trained": trained, **_reads(settings)}


def _reads(settings: Settings) -> dict[str, Any]:
    store = FeatureStore.from_settings(settings)
    champion = load_champion(settings)
    return {
        "champion": (champion.version, champion.is_baseline, champion.trained_until),
        "prices": len(store.prices().read()),
        "predictions": store.predictions.read_rows(),
        "errors": store.errors.read_rows(),
        "summary": store.summary.read_rows(),
    }


def _assert_same_reads(remote: dict[str, Any], embedded: dict[str, Any], days: int) -> None:
    assert remote["champion"] == embedded["champion"]
    assert remote["prices"] == embedded["prices"] > 0
    for table in ("errors", "summary"):
        assert len(remote[table]) == len(embedded[table]) > 0
    ours, theirs = remote["predictions"], embedded["predictions"]
    assert len(ours) == len(theirs) == len(SYMBOLS) * days
    pd.testing.assert_frame_equal(
        ours[FORECAST].sort_values(KEYS).reset_index(drop=True),
        theirs[FORECAST].sort_values(KEYS).reset_index(drop=True),
        rtol=1e-6,
    )


def _remote_environment(settings: Settings, s3: S3Server) -> dict[str, str]:
    """What an `mpp` process of the remote deployment sees: the S3 store, the tracking
    server, the sample source; none of this session's Airflow settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return base | {
        **s3.environment(),
        "MPP_HOME": str(settings.resolved_home),
        "MPP_STORE_URI": str(settings.store_uri),
        "MPP_MLFLOW_TRACKING_URI": str(settings.mlflow_tracking_uri),
        "MPP_SOURCE": "sample",
        "MPP_SYMBOLS": ",".join(SYMBOLS),
    }


def _airflow_day(env: dict[str, str], metadata_url: str, log: Path) -> dict[str, Any]:
    """`mpp airflow test` for DAG_DAY: `airflow db migrate`, then `dag.test()`, with
    `metadata_url` as Airflow's metadata database."""
    env = env | {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url}
    done = subprocess.run(
        [MPP, "airflow", "test", "--date", DAG_DAY.isoformat(), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    log.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _served(env: dict[str, str], log: Path) -> dict[str, tuple[int, Any]]:
    """Every route's status and body from `mpp serve` (uvicorn) on a free port."""
    process, base = start_mpp_serve(env, log)
    try:
        health = httpx.get(f"{base}/health", timeout=30)
        answers = {"/health": (health.status_code, health.json())}
        with httpx.Client(base_url=base, timeout=30) as client:
            for route in ROUTES:
                response = client.get(route)
                answers[route] = (response.status_code, response.json())
        return answers
    finally:
        stop_process(process)


def _embedded_answers(settings: Settings) -> dict[str, tuple[int, Any]]:
    """The same routes from the app in this process over the embedded home."""
    from fastapi.testclient import TestClient

    from market_predictor.api.app import create_app

    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        return {
            route: (response.status_code, response.json())
            for route in ["/health", *ROUTES]
            for response in [client.get(f"/api/v1{route}")]
        }


def _assert_alike(ours: Any, theirs: Any, where: str) -> None:
    """Equal JSON, floats to a relative 1e-6, VOLATILE keys aside."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        assert ours.keys() == theirs.keys(), where
        for key in ours.keys() - VOLATILE:
            _assert_alike(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, list) and isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            _assert_alike(mine, other, f"{where}[{index}]")
    elif isinstance(ours, float) and isinstance(theirs, float | int):
        assert math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-12), (where, ours, theirs)
    else:
        assert ours == theirs, (where, ours, theirs)


def test_s3_mlflow_server_and_postgres_give_the_embedded_answers_through_airflow_and_the_api(
    postgres: PostgresServer,
    logged_s3: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logged_s3.create_bucket("stack")
    for name, value in logged_s3.environment().items():
        monkeypatch.setenv(name, value)
    postgres.create_database("mlflow_stack")
    postgres.create_database("airflow_stack")
    embedded_settings = Settings(home=tmp_path / "embedded", source="sample", symbols=SYMBOLS)
    server = start_mlflow_server(
        postgres.url("mlflow_stack"),
        "s3://stack/mlflow",
        env=os.environ | {"MLFLOW_S3_ENDPOINT_URL": logged_s3.endpoint},
        log=tmp_path / "mlflow-server.log",
    )
    try:
        remote_settings = Settings(
            home=tmp_path / "remote",
            store_uri="s3://stack/store",
            mlflow_tracking_uri=server.url,
            source="sample",
            symbols=SYMBOLS,
        )
        remote = _run(remote_settings)
        embedded = _run(embedded_settings)
        _assert_same_reads(remote, embedded, days=4)

        # One more trading day: the DAG on the remote stack, the daily job embedded.
        env = _remote_environment(remote_settings, logged_s3)
        dag = _airflow_day(env, postgres.url("airflow_stack"), tmp_path / "airflow.log")
        daily = run_daily(embedded_settings, as_of=DAG_DAY)
        assert daily.failed_step is None, daily.error
        assert dag["state"] == "success", dag["tasks"]
        assert dag["tasks"]["predict"] == "success"
        remote, embedded = _reads(remote_settings), _reads(embedded_settings)
        _assert_same_reads(remote, embedded, days=5)
        day = remote["predictions"][remote["predictions"]["as_of_date"] == pd.Timestamp(DAG_DAY)]
        assert sorted(day["symbol"]) == SYMBOLS

        served = _served(env, tmp_path / "serve.log")
    finally:
        stop_process(server.process)
    local = _embedded_answers(embedded_settings)

    # The API over the remote stack answers what the embedded app answers.
    assert served["/health"][1]["status"] == "ok"
    assert served["/health"][1]["as_of"] == local["/health"][1]["as_of"] == "2012-12-07"
    assert served["/predictions/ZZZ"][0] == 404
    for route in ROUTES:
        assert served[route][0] == local[route][0], route
        _assert_alike(served[route][1], local[route][1], route)
    for symbol in SYMBOLS:
        rows = embedded["predictions"][embedded["predictions"]["symbol"] == symbol]
        assert served[f"/predictions/{symbol}"][1]["count"] == len(rows) == 5
    prices = [served[f"/prices/{symbol}"][1] for symbol in SYMBOLS]
    assert sum(p["count"] for p in prices) == sum(len(p["prices"]) for p in prices)
    assert sum(p["count"] for p in prices) == remote["prices"] == embedded["prices"]
    assert served["/models/champion"][1]["version"] == str(remote["champion"][0])

    # Airflow kept its metadata in PostgreSQL (no SQLite file), with this run in it.
    assert not list((tmp_path / "remote").rglob("airflow.db"))
    with psycopg.connect(postgres.url("airflow_stack", driver="postgresql")) as connection:
        runs = connection.execute("SELECT dag_id, state FROM dag_run").fetchall()
    assert runs == [("ml_pipeline", "success")]
    # The tables and the model artifacts really are in S3.
    stored = [str(p["path"]) for p in logged_s3.commit_puts()]
    assert any(p.startswith("/stack/store/predictions/") for p in stored)
    s3 = boto3.client("s3", endpoint_url=logged_s3.endpoint, region_name="us-east-1")
    assert s3.list_objects_v2(Bucket="stack", Prefix="mlflow/")["KeyCount"] > 0

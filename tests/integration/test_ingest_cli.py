"""`mpp ingest` and `mpp dataset` through the real command line (typer's runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings
from market_predictor.store import FeatureStore, prices
from tests.fixtures.data import price_rows, write_long_csv

runner = CliRunner()
SAMPLE = ["ingest", "--source", "sample", "--as-of", "2013-01-15"]


def _mpp(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def _store_is_empty(settings: Settings) -> bool:
    store = settings.resolved_home / "store"
    return not (store / "feature_groups").exists() and not (store / "quarantine").exists()


def test_sample_ingest_prints_a_json_summary_and_stores_rows(settings: Settings) -> None:
    result = _mpp(*SAMPLE, "--symbols", "AAPL,MSFT,IBM,GOOG", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["inserted"] == summary["fetched"] > 10_000
    assert summary["table_version"] == 0
    assert summary["quarantined"] == 0

    again = json.loads(_mpp(*SAMPLE, "--symbols", "AAPL,MSFT,IBM,GOOG", "--json").stdout)
    assert (again["inserted"], again["updated"]) == (0, 0)
    assert again["unchanged"] == again["fetched"] == 4 * (settings.ingest_overlap_days + 1)


def test_human_summary_is_a_table(settings: Settings) -> None:
    result = _mpp(*SAMPLE, "--symbols", "IBM", "--start", "2013-01-02")
    assert result.exit_code == 0, result.output
    assert "inserted" in result.stdout
    assert "table version" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "bloomberg"], "unknown source"),
        (["--start", "2013-02-01", "--end", "2013-01-01"], "after end"),
        (["--start", "2013-13-01"], "malformed start date"),
        (["--end", "yesterday"], "malformed end date"),
        (["--symbols", "../x"], "invalid symbol"),
        (["--symbols", "a/b"], "invalid symbol"),
        (["--symbols", "ABCDEFGHIJKLMNOP"], "invalid symbol"),
        (["--start", "2020-01-01", "--end", "2020-02-01"], "no prices"),
        (["--interval", "1h"], "not supported"),
        (["--source", "csv"], "needs a path to a csv file (option --path)"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    settings: Settings, args: list[str], message: str
) -> None:
    result = _mpp(*SAMPLE, "--symbols", "AAPL", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert _store_is_empty(settings)


def test_csv_missing_column_exits_2_naming_it(settings: Settings, tmp_path: Path) -> None:
    path = write_long_csv(tmp_path / "p.csv", price_rows(days=3).drop(columns=["low"]))
    result = _mpp("ingest", "--source", "csv", "--path", str(path), "--symbols", "AAPL")
    assert result.exit_code == 2
    assert "lacks column low" in result.stderr
    assert _store_is_empty(settings)


def test_csv_non_numeric_price_exits_2_naming_the_row(settings: Settings, tmp_path: Path) -> None:
    rows = price_rows(days=3).astype({"open": "object"})
    rows.loc[2, "open"] = "n/a?"
    path = write_long_csv(tmp_path / "p.csv", rows)
    result = _mpp("ingest", "--source", "csv", "--path", str(path), "--symbols", "AAPL")
    assert result.exit_code == 2
    assert "row 4: open 'n/a?' is not a number" in result.stderr
    assert _store_is_empty(settings)


def test_unwritable_store_uri_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from market_predictor.config import get_settings

    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    monkeypatch.setenv("MPP_STORE_URI", str(blocker / "store"))
    get_settings.cache_clear()
    result = _mpp(*SAMPLE, "--symbols", "AAPL")
    assert result.exit_code == 2
    assert "not writable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert blocker.read_text() == "x"
    assert not (tmp_path / "mpp-home" / "store").exists()


def test_parquet_source_loads_a_users_file(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "prices.parquet"
    pd.concat([price_rows("AAPL", 4), price_rows("IBM", 4)]).drop(columns="adjusted").to_parquet(
        path
    )
    result = _mpp(
        "ingest", "--source", "parquet", "--path", str(path), "--symbols", "AAPL,IBM", "--json"
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["fetched"], summary["inserted"], summary["quarantined"]) == (8, 8, 0)
    stored = FeatureStore.from_settings(settings).prices().read()
    assert stored.groupby("symbol").size().to_dict() == {"AAPL": 4, "IBM": 4}
    assert set(stored["source"]) == {"parquet"}


def test_dataset_create_list_and_show(settings: Settings) -> None:
    assert _mpp(*SAMPLE, "--symbols", "AAPL,MSFT").exit_code == 0
    created = _mpp("dataset", "create", "--start", "2012-01-01", "--end", "2012-12-31", "--json")
    assert created.exit_code == 0, created.output
    dataset = json.loads(created.stdout)
    assert dataset["version"] == 1
    assert dataset["row_count"] == 500
    assert dataset["table_version"] == 0

    listed = json.loads(_mpp("dataset", "list", "--json").stdout)
    assert [d["version"] for d in listed["datasets"]] == [1]
    shown = json.loads(_mpp("dataset", "show", "1", "--json").stdout)
    assert shown["verified"] is True
    assert shown["content_hash"] == dataset["content_hash"]
    assert "prices_daily v1" in _mpp("dataset", "show", "1").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--start", "2012-02-01", "--end", "2012-01-01"], "after end"),
        (["create", "--start", "2012-01-01", "--end", "2012-1-32"], "malformed end date"),
        (["create", "--start", "2012-01-01", "--end", "2012-03-01", "--symbols", "x/y"], "symbol"),
        (["create", "--start", "2012-01-01", "--end", "2012-03-01"], "no prices yet"),
        (["show", "3"], "does not exist"),
    ],
)
def test_dataset_bad_input_exits_2_and_creates_no_dataset(
    settings: Settings, args: list[str], message: str
) -> None:
    if message != "no prices yet":
        assert _mpp(*SAMPLE, "--symbols", "AAPL", "--start", "2012-01-03").exit_code == 0
    store = FeatureStore.from_settings(settings)
    prices_version = store.prices().table_version()
    result = _mpp("dataset", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert store.datasets.list() == []
    assert store.prices().table_version() == prices_version


def test_a_tampered_dataset_fails_its_check_and_training_on_it_is_refused(
    settings: Settings,
) -> None:
    from market_predictor.store.delta import Table

    assert _mpp(*SAMPLE, "--symbols", "AAPL,MSFT").exit_code == 0
    created = _mpp("dataset", "create", "--start", "2012-01-01", "--end", "2012-12-31", "--json")
    dataset = json.loads(created.stdout)
    assert json.loads(_mpp("dataset", "show", "1", "--json").stdout)["verified"] is True

    # Someone rewrites one close in the dataset's own table (a new Delta version of it).
    table = Table(FeatureStore.from_settings(settings).backend, "training_datasets/prices_daily/v1",
                  prices.SCHEMA)  # fmt: skip
    rows = table.read()
    rows.loc[0, "close"] = rows.loc[0, "close"] * 1.01
    table.replace_where(rows, "true")

    shown = _mpp("dataset", "show", "1", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["verified"] is False
    assert json.loads(shown.stdout)["content_hash"] == dataset["content_hash"]

    refused = _mpp("train", "--dataset-version", "1", "--json")
    assert refused.exit_code == 1, refused.output
    assert "training dataset prices_daily v1" in refused.stderr
    assert "content hash" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (settings.resolved_home / "mlflow.db").exists()


def test_feature_group_versions_are_separate_tables(settings: Settings) -> None:
    window = ["--start", "2013-01-02", "--json"]
    assert _mpp(*SAMPLE, "--symbols", "AAPL", *window).exit_code == 0
    v2 = _mpp(*SAMPLE, "--symbols", "MSFT", "--feature-group-version", "2", *window)
    assert v2.exit_code == 0, v2.output
    assert json.loads(v2.stdout)["feature_group_version"] == 2

    store = FeatureStore.from_settings(settings)
    assert store.prices(1).symbols() == ["AAPL"]
    assert store.prices(2).symbols() == ["MSFT"]
    created = _mpp(
        "dataset", "create", "--start", "2013-01-02", "--end", "2013-01-15",
        "--feature-group-version", "2", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["symbols"] == ["MSFT"]
    assert json.loads(created.stdout)["feature_group_version"] == 2

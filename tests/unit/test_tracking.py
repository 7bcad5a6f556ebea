"""Re-homing MLflow's absolute artifact locations, on a real SQLite file holding the
columns MLflow keeps them in."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from market_predictor.errors import InputError
from market_predictor.tracking import check_tracking_uri, rehome_artifacts

OLD = "file:///old/home/mlartifacts"
NEW = "file:///new/home/mlartifacts"


def _database(path: Path, experiment: str, others: dict[str, str]) -> Path:
    database = path / "mlflow.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE experiments (artifact_location TEXT)")
        connection.execute("CREATE TABLE runs (artifact_uri TEXT)")
        connection.execute("CREATE TABLE logged_models (artifact_location TEXT)")
        connection.execute("CREATE TABLE model_versions (storage_location TEXT, source TEXT)")
        connection.execute(
            "INSERT INTO experiments VALUES (?), ('/somewhere/mlruns/0')", (experiment,)
        )
        connection.execute("INSERT INTO runs VALUES (?)", (others["run"],))
        connection.execute("INSERT INTO logged_models VALUES (?)", (others["model"],))
        connection.execute(
            "INSERT INTO model_versions VALUES (?, ?)", (others["model"], "models:/m-1")
        )
    return database


def _all(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [
            value
            for query in (
                "SELECT artifact_location FROM experiments",
                "SELECT artifact_uri FROM runs",
                "SELECT artifact_location FROM logged_models",
                "SELECT storage_location FROM model_versions",
                "SELECT source FROM model_versions",
            )
            for (value,) in connection.execute(query)
        ]


def test_locations_under_the_old_home_move_to_the_new_one(tmp_path: Path) -> None:
    database = _database(
        tmp_path, OLD, {"run": f"{OLD}/1/abc/artifacts", "model": f"{OLD}/models/m-1/artifacts"}
    )
    assert rehome_artifacts(database, NEW) == 4
    assert _all(database) == [
        NEW,
        "/somewhere/mlruns/0",  # MLflow's Default experiment is not ours to move
        f"{NEW}/1/abc/artifacts",
        f"{NEW}/models/m-1/artifacts",
        f"{NEW}/models/m-1/artifacts",
        "models:/m-1",
    ]
    assert rehome_artifacts(database, NEW) == 0  # once moved, nothing more to do


def test_a_location_that_only_shares_the_prefix_text_is_left_alone(tmp_path: Path) -> None:
    sibling = "file:///old/home/mlartifacts2/1/abc/artifacts"
    database = _database(tmp_path, OLD, {"run": sibling, "model": sibling})
    rehome_artifacts(database, NEW)
    assert _all(database)[2:5] == [sibling, sibling, sibling]


def test_an_experiment_outside_any_home_artifact_folder_is_not_moved(tmp_path: Path) -> None:
    elsewhere = "s3://bucket/artifacts"
    database = _database(tmp_path, elsewhere, {"run": f"{elsewhere}/1", "model": f"{elsewhere}/m"})
    assert rehome_artifacts(database, NEW) == 0


def test_a_sqlite_uri_outside_the_home_needs_an_existing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "mlflow.db"
    with pytest.raises(InputError, match="no-such-folder does not exist"):
        check_tracking_uri(f"sqlite:///{missing}")
    assert not missing.parent.exists()
    check_tracking_uri(f"sqlite:///{missing}", create_folder=True)  # the home's own
    assert missing.parent.is_dir()


def test_a_sqlite_uri_naming_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="names a directory"):
        check_tracking_uri(f"sqlite:///{tmp_path}")

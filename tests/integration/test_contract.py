"""The CLI's promise, case by case, through the real `mpp` executable.

Every case runs `mpp` in its own copy of one template home (prices plus a champion)
and checks the contract from the README: the documented exit code (2 bad input,
1 runtime failure), exactly one line on stderr, and, from a listing of every file
(size and modification time) and the row count of every Delta table and MLflow
table taken before and after, that nothing was written or lost.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from market_predictor.config import Settings
from tests.fixtures.ops import OPS_SYMBOLS

MPP = str(Path(sys.executable).with_name("mpp"))
CSV_HEADER = "symbol,date,open,high,low,close,volume\n"
GOOD_ROW = "AAPL,2012-12-03,1,2,0.5,1.5,100\n"
MLFLOW_TABLES = ("experiments", "runs", "registered_models", "model_versions", "logged_models")


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    message: str  # a fragment the one stderr line must contain
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    # Makes the fault inside the home (before the snapshot) or a file beside it.
    fault: Callable[[Path, Path], None] | None = None
    empty_home: bool = False  # run against a home that does not exist yet


def _file(name: str, content: bytes) -> Callable[[Path, Path], None]:
    def write(home: Path, scratch: Path) -> None:
        (scratch / name).write_bytes(content)

    return write


def _csv(rows: str) -> bytes:
    return (CSV_HEADER + rows).encode()


def _corrupt_last_commit(table: str) -> Callable[[Path, Path], None]:
    def corrupt(home: Path, scratch: Path) -> None:
        log = home / "store" / table / "_delta_log"
        last = max(log.glob("*.json"))
        last.write_text("{this is not json\n")

    return corrupt


def _corrupt_mlflow_db(home: Path, scratch: Path) -> None:
    (home / "mlflow.db").write_bytes(b"not a database at all " * 1000)


def _csv_args(name: str, *extra: str) -> tuple[str, ...]:
    return ("ingest", "--source", "csv", "--path", f"{{scratch}}/{name}", *extra)


PREDICT = ("predict", "--as-of", "2012-11-30")
CASES = [
    # -- settings: range-checked, named, exit 2 -------------------------------------
    Case(
        "stale-days-negative",
        PREDICT,
        "MPP_STALE_AFTER_DAYS=-1",
        env={"MPP_STALE_AFTER_DAYS": "-1"},
    ),
    Case(
        "stale-days-text", PREDICT, "MPP_STALE_AFTER_DAYS=abc", env={"MPP_STALE_AFTER_DAYS": "abc"}
    ),
    Case(
        "trigger-alpha-out-of-range",
        ("monitor",),
        "MPP_TRIGGER_ALPHA=1.5",
        env={"MPP_TRIGGER_ALPHA": "1.5"},
    ),
    Case(
        "model-age-zero",
        ("daily", "--as-of", "2012-12-03"),
        "MPP_MAX_MODEL_AGE_DAYS=0",
        env={"MPP_MAX_MODEL_AGE_DAYS": "0"},
    ),
    Case(
        "cooldown-negative",
        ("daily", "--as-of", "2012-12-03"),
        "MPP_RETRAIN_COOLDOWN_DAYS=-3",
        env={"MPP_RETRAIN_COOLDOWN_DAYS": "-3"},
    ),
    Case("symbols-only-commas", PREDICT, "MPP_SYMBOLS=,,,", env={"MPP_SYMBOLS": ",,,"}),
    Case("symbols-path", PREDICT, "MPP_SYMBOLS=AA/PL", env={"MPP_SYMBOLS": "AA/PL"}),
    Case(
        "feature-group-version-setting-zero",
        PREDICT,
        "MPP_FEATURE_GROUP_VERSION=0",
        env={"MPP_FEATURE_GROUP_VERSION": "0"},
    ),
    Case(
        "overlap-days-negative",
        ("ingest", "--as-of", "2012-12-04"),
        "MPP_INGEST_OVERLAP_DAYS=-1",
        env={"MPP_INGEST_OVERLAP_DAYS": "-1"},
    ),
    Case(
        "stale-run-hours-zero", PREDICT, "MPP_STALE_RUN_HOURS=0", env={"MPP_STALE_RUN_HOURS": "0"}
    ),
    Case(
        "tracking-folder-missing",
        PREDICT,
        "does not exist",
        env={"MPP_MLFLOW_TRACKING_URI": "sqlite:////nonexistent-mpp-folder/mlflow.db"},
    ),
    # -- command line ---------------------------------------------------------------
    Case("unknown-command", ("forecast",), "No such command"),
    Case("unknown-option", ("predict", "--bogus"), "No such option"),
    Case(
        "feature-group-version-text",
        ("ingest", "--feature-group-version", "abc"),
        "--feature-group-version",
    ),
    Case(
        "feature-group-version-absurd",
        ("ingest", "--as-of", "2012-12-04", "--feature-group-version", "99999999999999999999"),
        "use 1 to",
    ),
    Case(
        "feature-group-version-zero",
        ("ingest", "--as-of", "2012-12-04", "--feature-group-version", "0"),
        "feature group version",
    ),
    Case("malformed-as-of", ("predict", "--as-of", "2012-13-45"), "YYYY-MM-DD"),
    Case("future-as-of", ("predict", "--as-of", "2099-01-02"), "in the future"),
    Case("as-of-before-data", ("predict", "--as-of", "2001-01-02"), "before any stored prices"),
    Case("symbol-with-slash", (*PREDICT, "--symbols", "A/B"), "invalid symbol"),
    Case("symbols-empty", (*PREDICT, "--symbols", ","), "no symbols given"),
    Case("model-version-text", ("models", "show", "abc"), "positive integer"),
    Case("model-version-missing", ("models", "show", "99"), "has no version 99"),
    Case("promote-missing-version", ("models", "promote", "99"), "has no version 99"),
    Case(
        "ingest-start-after-end",
        ("ingest", "--start", "2012-12-10", "--end", "2012-12-01"),
        "after end",
    ),
    Case("ingest-interval", ("ingest", "--interval", "1h"), "1d"),
    Case("ingest-unknown-source", ("ingest", "--source", "nope"), "nope"),
    Case(
        "dataset-start-after-end",
        ("dataset", "create", "--start", "2012-12-10", "--end", "2012-12-01"),
        "after end",
    ),
    Case("dataset-missing-version", ("dataset", "show", "99"), "does not exist"),
    Case("train-unknown-symbol", ("train", "--symbols", "ZZZZ"), "ZZZZ"),
    Case("train-unknown-network", ("train", "--model", "nope"), "nope"),
    Case("backtest-bad-period", ("backtest", "--retrain-every", "5X"), "5X"),
    Case(
        "replay-start-after-end",
        ("replay", "--start", "2012-12-10", "--end", "2012-12-03"),
        "after end",
    ),
    Case("daily-future", ("daily", "--as-of", "2099-01-02"), "in the future"),
    # -- files ----------------------------------------------------------------------
    Case("csv-without-path", ("ingest", "--source", "csv"), "--path"),
    Case("csv-missing-file", _csv_args("missing.csv"), "does not exist"),
    Case(
        "csv-path-is-directory",
        ("ingest", "--source", "csv", "--path", "{scratch}"),
        "is a directory",
    ),
    Case(
        "csv-not-utf8",
        _csv_args("latin.csv"),
        "not UTF-8",
        fault=_file("latin.csv", _csv("AAPL,2012-12-03,1,2,0.5,1.5,100\n")[:-1] + b" caf\xe9\n"),
    ),
    Case(
        "csv-binary",
        _csv_args("image.csv"),
        "not UTF-8",
        fault=_file("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" * 20),
    ),
    Case(
        "csv-date-before-1678",
        _csv_args("old.csv"),
        "is outside",
        fault=_file("old.csv", _csv(GOOD_ROW + "AAPL,1600-01-03,1,2,0.5,1.5,100\n")),
    ),
    Case(
        "csv-date-after-2262",
        _csv_args("future.csv"),
        "is outside",
        fault=_file("future.csv", _csv(GOOD_ROW + "AAPL,2300-01-03,1,2,0.5,1.5,100\n")),
    ),
    Case(
        "csv-malformed-date",
        _csv_args("date.csv"),
        "malformed date",
        fault=_file("date.csv", _csv("AAPL,03/12/2012,1,2,0.5,1.5,100\n")),
    ),
    Case(
        "csv-missing-column",
        _csv_args("columns.csv"),
        "lacks column volume",
        fault=_file(
            "columns.csv", b"symbol,date,open,high,low,close\nAAPL,2012-12-03,1,2,0.5,1.5\n"
        ),
    ),
    Case(
        "csv-text-price",
        _csv_args("text.csv"),
        "is not a number",
        fault=_file("text.csv", _csv("AAPL,2012-12-03,1,2,0.5,one,100\n")),
    ),
    Case("csv-empty-file", _csv_args("empty.csv"), "cannot read", fault=_file("empty.csv", b"")),
    Case(
        "csv-empty-symbol",
        _csv_args("blank.csv"),
        "empty symbol",
        fault=_file("blank.csv", _csv(",2012-12-03,1,2,0.5,1.5,100\n")),
    ),
    Case(
        "parquet-that-is-csv",
        ("ingest", "--source", "parquet", "--path", "{scratch}/prices.parquet"),
        "cannot read",
        fault=_file("prices.parquet", _csv(GOOD_ROW)),
    ),
    # -- a home that has never been used: looking creates nothing --------------------
    Case("fresh-models-list", ("models", "list"), "no model registered", empty_home=True),
    Case("fresh-models-show", ("models", "show"), "no model registered", empty_home=True),
    Case(
        "fresh-models-promote", ("models", "promote", "1"), "no model registered", empty_home=True
    ),
    Case("fresh-predict", ("predict",), "run `mpp ingest` first", empty_home=True),
    Case("fresh-dataset-show", ("dataset", "show", "1"), "does not exist", empty_home=True),
    # -- faults: runtime failures, one line, exit 1 ----------------------------------
    Case(
        "corrupt-price-log",
        PREDICT,
        "failed:",
        code=1,
        fault=_corrupt_last_commit("feature_groups/prices/v1"),
    ),
    Case(
        "corrupt-price-log-rust-backtrace",
        PREDICT,
        "failed:",
        code=1,
        env={"RUST_BACKTRACE": "1"},
        fault=_corrupt_last_commit("feature_groups/prices/v1"),
    ),
    Case("corrupt-mlflow-db", PREDICT, "failed:", code=1, fault=_corrupt_mlflow_db),
]


def _snapshot(home: Path) -> dict[str, object]:
    """Every file (size, mtime) and row counts. Lock files are coordination, not data;
    MLflow rewrites `registered_model_meta` (name and version) into a local model's
    folder on every load, so it is no sign of a write by the command either."""
    files = {
        str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(home.rglob("*"))
        if p.is_file()
        and p.suffix != ".lock"
        and "_locks" not in p.parts
        and p.name != "registered_model_meta"
    }
    rows: dict[str, object] = {}
    for log in sorted(home.rglob("_delta_log")):
        table = log.parent
        try:
            from deltalake import DeltaTable

            rows[str(table.relative_to(home))] = DeltaTable(str(table)).to_pyarrow_table().num_rows
        except Exception as exc:  # a case's corrupt table: its state is the error
            rows[str(table.relative_to(home))] = type(exc).__name__
    database = home / "mlflow.db"
    if database.exists():
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
                for name in MLFLOW_TABLES:
                    rows[name] = connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            rows["mlflow.db"] = type(exc).__name__
    return {"files": files, "rows": rows}


def _changes(before: dict[str, object], after: dict[str, object]) -> list[str]:
    changes = []
    for part in ("files", "rows"):
        old, new = before[part], after[part]
        assert isinstance(old, dict) and isinstance(new, dict)
        changes += [
            f"{part} {key}: {old.get(key)} -> {new.get(key)}"
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)
        ]
    return changes


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_contract(case: Case, ops_template: Path, tmp_path: Path) -> None:
    from market_predictor.tracking import prepare_database

    home, scratch = tmp_path / "home", tmp_path / "scratch"
    scratch.mkdir()
    if not case.empty_home:
        shutil.copytree(ops_template, home)
        # The copy's one-time re-homing of artifact paths is not the command's doing.
        prepare_database(Settings(home=home))
        if case.fault is not None:
            case.fault(home, scratch)
    elif case.fault is not None:
        case.fault(home, scratch)
    before = _snapshot(home) if home.exists() else None

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "RUST_BACKTRACE"))},
        "MPP_HOME": str(home),
        "MPP_SOURCE": "sample",
        "MPP_SYMBOLS": ",".join(OPS_SYMBOLS),
        "COLUMNS": "200",
        **case.env,
    }
    args = [a.replace("{scratch}", str(scratch)) for a in case.args]
    result = subprocess.run(
        [MPP, *args], env=env, cwd=scratch, capture_output=True, text=True, timeout=300
    )

    lines = result.stderr.strip().splitlines()
    assert result.returncode == case.code, result.stderr + result.stdout
    assert len(lines) == 1, result.stderr
    assert case.message in lines[0]
    if before is None:
        assert not home.exists(), sorted(p.name for p in home.rglob("*"))
    else:
        assert _changes(before, _snapshot(home)) == []


def test_daily_failing_at_a_step_reports_one_line_even_with_rust_backtraces(
    ops_template: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(ops_template, home)
    _corrupt_last_commit("feature_groups/prices/v1")(home, tmp_path)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MPP_")},
        "MPP_HOME": str(home),
        "MPP_SOURCE": "sample",
        "MPP_SYMBOLS": ",".join(OPS_SYMBOLS),
        "RUST_BACKTRACE": "1",
    }
    day = (dt.date(2012, 12, 3)).isoformat()
    result = subprocess.run(
        [MPP, "daily", "--as-of", day, "--json"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 1, result.stderr
    report = json.loads(result.stdout)
    assert report["failed_step"]
    assert "\n" not in report["error"]


@pytest.mark.parametrize("switch", [("--verbose",), ("-v",), ()])
def test_verbose_or_mpp_debug_adds_the_traceback_and_keeps_exit_code_and_message(
    tmp_path: Path, switch: tuple[str, ...]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPP_")}
    env["MPP_HOME"] = str(tmp_path / "home")
    if not switch:
        env["MPP_DEBUG"] = "1"
    result = subprocess.run(
        [MPP, *switch, "predict", "--as-of", "2012-13-45"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: malformed as-of date '2012-13-45'")
    assert not (tmp_path / "home").exists()

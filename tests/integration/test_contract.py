"""The CLI's promise, case by case, through the real `mpp` executable.

Every case runs `mpp` in its own copy of one template home (prices plus a champion)
and checks the contract from the README: the documented exit code (2 bad input,
1 runtime failure), exactly one line on stderr, and, from a listing of every file
(size and modification time) and the row count of every Delta table and MLflow
table taken before and after, that nothing was written or lost.
"""

from __future__ import annotations

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


def _file_args(source: str, name: str) -> tuple[str, ...]:
    return ("ingest", "--source", source, "--path", f"{{scratch}}/{name}")


def _setting(id: str, args: tuple[str, ...], variable: str, value: str) -> Case:
    """A setting out of its range or type: the error names the variable and its value."""
    return Case(id, args, f"{variable}={value}", env={variable: value})


def _bad_file(id: str, name: str, content: bytes, message: str, source: str = "csv") -> Case:
    """`mpp ingest` of a file `name` holding `content`, written beside the home."""
    return Case(id, _file_args(source, name), message, fault=_file(name, content))


PREDICT = ("predict", "--as-of", "2012-11-30")
DAILY = ("daily", "--as-of", "2012-12-03")
INGEST = ("ingest", "--as-of", "2012-12-04")
CASES = [
    # -- settings: range-checked, named, exit 2 -------------------------------------
    _setting("stale-days-negative", PREDICT, "MPP_STALE_AFTER_DAYS", "-1"),
    _setting("stale-days-text", PREDICT, "MPP_STALE_AFTER_DAYS", "abc"),
    _setting("trigger-alpha-out-of-range", ("monitor",), "MPP_TRIGGER_ALPHA", "1.5"),
    _setting("model-age-zero", DAILY, "MPP_MAX_MODEL_AGE_DAYS", "0"),
    _setting("cooldown-negative", DAILY, "MPP_RETRAIN_COOLDOWN_DAYS", "-3"),
    _setting("symbols-only-commas", PREDICT, "MPP_SYMBOLS", ",,,"),
    _setting("symbols-path", PREDICT, "MPP_SYMBOLS", "AA/PL"),
    _setting("feature-group-version-setting-zero", PREDICT, "MPP_FEATURE_GROUP_VERSION", "0"),
    _setting("overlap-days-negative", INGEST, "MPP_INGEST_OVERLAP_DAYS", "-1"),
    _setting("stale-run-hours-zero", PREDICT, "MPP_STALE_RUN_HOURS", "0"),
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
        (*INGEST, "--feature-group-version", "99999999999999999999"),
        "use 1 to",
    ),
    Case(
        "feature-group-version-zero",
        (*INGEST, "--feature-group-version", "0"),
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
    Case("csv-missing-file", _file_args("csv", "missing.csv"), "does not exist"),
    Case(
        "csv-path-is-directory",
        ("ingest", "--source", "csv", "--path", "{scratch}"),
        "is a directory",
    ),
    _bad_file("csv-not-utf8", "latin.csv", _csv(GOOD_ROW)[:-1] + b" caf\xe9\n", "not UTF-8"),
    _bad_file(
        "csv-binary", "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" * 20, "not UTF-8"
    ),
    _bad_file(
        "csv-date-before-1678",
        "old.csv",
        _csv(GOOD_ROW + "AAPL,1600-01-03,1,2,0.5,1.5,100\n"),
        "is outside",
    ),
    _bad_file(
        "csv-date-after-2262",
        "future.csv",
        _csv(GOOD_ROW + "AAPL,2300-01-03,1,2,0.5,1.5,100\n"),
        "is outside",
    ),
    _bad_file(
        "csv-malformed-date",
        "date.csv",
        _csv("AAPL,03/12/2012,1,2,0.5,1.5,100\n"),
        "malformed date",
    ),
    _bad_file(
        "csv-missing-column",
        "columns.csv",
        b"symbol,date,open,high,low,close\nAAPL,2012-12-03,1,2,0.5,1.5\n",
        "lacks column volume",
    ),
    _bad_file(
        "csv-text-price", "text.csv", _csv("AAPL,2012-12-03,1,2,0.5,one,100\n"), "is not a number"
    ),
    _bad_file("csv-empty-file", "empty.csv", b"", "cannot read"),
    _bad_file(
        "csv-empty-symbol", "blank.csv", _csv(",2012-12-03,1,2,0.5,1.5,100\n"), "empty symbol"
    ),
    _bad_file("parquet-that-is-csv", "prices.parquet", _csv(GOOD_ROW), "cannot read", "parquet"),
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


def _mpp_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without its MPP_ settings or Rust backtraces, for
    `mpp` on `home` with the offline sample of the ops symbols, plus `extra`."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "RUST_BACKTRACE"))},
        "MPP_HOME": str(home),
        "MPP_SOURCE": "sample",
        "MPP_SYMBOLS": ",".join(OPS_SYMBOLS),
        **extra,
    }


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
    before = _snapshot(home) if home.exists() else None

    args = [a.replace("{scratch}", str(scratch)) for a in case.args]
    result = subprocess.run(
        [MPP, *args],
        env=_mpp_env(home, {"COLUMNS": "200", **case.env}),
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=300,
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
    result = subprocess.run(
        [MPP, *DAILY, "--json"],
        env=_mpp_env(home, {"RUST_BACKTRACE": "1"}),
        capture_output=True,
        text=True,
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

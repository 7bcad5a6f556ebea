"""Ingest benchmark: 500 symbols x 10 years from a local Parquet file into an empty
store, then a 1-day incremental ingest of the same 500 symbols.

Run: .venv/bin/python -m bench.ingest [--symbols 500] [--years 10]
Each step runs as its own process (`mpp ingest`), timed on the wall clock, with peak
memory read from that process's own rusage (os.wait4). The floor, measured in the same
run the same way, is a process that only reads the Parquet file with pyarrow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.synthetic import make_universe

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "ingest"
REPORT = ROOT / "docs" / "benchmarks" / "ingest.md"
MPP = str(Path(sys.executable).with_name("mpp"))
TARGETS = {"full": 60.0, "incremental": 10.0, "peak_mb": 2048.0}


@dataclass
class Step:
    name: str
    seconds: float
    peak_mb: float
    summary: dict[str, object]


def run(name: str, command: list[str], env: dict[str, str]) -> Step:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    out = process.stdout.read() if process.stdout else b""
    err = process.stderr.read() if process.stderr else b""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed: {err.decode().strip()}")
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    summary = json.loads(out) if out.strip().startswith(b"{") else {}
    return Step(name, seconds, usage.ru_maxrss / scale, summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    started = time.perf_counter()
    universe = make_universe(args.symbols, args.years, seed=0)
    path = WORK / "universe.parquet"
    universe.to_parquet(path, index=False)
    made = time.perf_counter() - started
    days = sorted(universe["date"].unique())
    last_day = dt.date.fromisoformat(str(days[-1])[:10])
    day_before = dt.date.fromisoformat(str(days[-2])[:10])
    symbols = ",".join(sorted(universe["symbol"].unique()))

    env = {k: v for k, v in os.environ.items() if not k.startswith("MPP_")}
    env["MPP_HOME"] = str(WORK / "home")
    floor = run(
        "floor: pyarrow.parquet.read_table",
        [sys.executable, "-c", f"import pyarrow.parquet as pq; pq.read_table({str(path)!r})"],
        env,
    )
    ingest = [MPP, "ingest", "--source", "parquet", "--path", str(path), "--symbols", symbols]
    full = run(
        "full load (empty store)",
        [*ingest, "--end", str(day_before), "--as-of", str(day_before), "--json"],
        env,
    )
    incremental = run("1-day incremental", [*ingest, "--as-of", str(last_day), "--json"], env)
    report = render(args, len(universe), path, made, floor, full, incremental, last_day)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    print(report)


def render(
    args: argparse.Namespace,
    rows: int,
    path: Path,
    made: float,
    floor: Step,
    full: Step,
    incremental: Step,
    last_day: dt.date,
) -> str:
    def verdict(ok: bool) -> str:
        return "yes" if ok else "**no**"

    lines = [
        "## Ingest",
        "",
        f"{args.symbols} synthetic symbols x {args.years} years of NYSE trading days "
        f"({rows:,} rows, {path.stat().st_size / 1e6:.1f} MB Parquet, built in {made:.1f} s) "
        "by `bench/synthetic.py`: each symbol is a bootstrap of whole real daily bars "
        "(return, overnight gap, high/low excursion, volume) of the bokeh-sampledata "
        "prices of AAPL, IBM, MSFT and GOOG 2000-2013, with its own start price and "
        "volatility scale. Every step is a separate process; peak memory is that "
        "process's max RSS.",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}.",
        "",
        "| step | wall time (s) | x floor | peak RSS (MB) | rows fetched | inserted "
        "| target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
        f"| {floor.name} | {floor.seconds:.2f} | 1.0 | {floor.peak_mb:.0f} | | | | |",
    ]
    for step, target in ((full, TARGETS["full"]), (incremental, TARGETS["incremental"])):
        ok = step.seconds < target and step.peak_mb < TARGETS["peak_mb"]
        lines.append(
            f"| {step.name} | {step.seconds:.2f} | {step.seconds / floor.seconds:.1f} | "
            f"{step.peak_mb:.0f} | {step.summary.get('fetched', '')} | "
            f"{step.summary.get('inserted', '')} | < {target:.0f} s, < 2 GB | {verdict(ok)} |"
        )
    lines += [
        "",
        f"The incremental run ingests up to {last_day} with no start date, so each symbol "
        "resumes `MPP_INGEST_OVERLAP_DAYS` (5) stored trading days before its last row: "
        "it re-reads those days (unchanged), adds the new one, and refreshes the per-symbol "
        "feature statistics. Wall times include interpreter start-up and imports "
        f"(the floor process pays the same start-up). Peak RSS of this runner: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (not counted).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

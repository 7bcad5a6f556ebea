"""Training cost benchmark: wall time and peak memory of `mpp train` with the default config.

Data: the real daily prices shipped with bokeh-sampledata for AAPL, MSFT, IBM, GOOG
(2000-03-01..2013-03-01, GOOG from its 2004 listing: about 13 years), ingested into
a fresh MPP_HOME with `mpp ingest --source sample`. Every command runs as its own
subprocess; its peak resident memory is the child's `ru_maxrss` (from `os.wait4`,
so each figure belongs to one process only). Baselines measured in the same run:
`mpp ingest` of the same rows, and fitting the persistence baseline on them.

Run: `.venv/bin/python -m bench.train_cost` (writes docs/benchmarks/train_cost.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SYMBOLS = "AAPL,MSFT,IBM,GOOG"
OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "train_cost.md"
MPP = Path(sys.executable).with_name("mpp")

WALL_TARGET_S = 180.0
MEMORY_TARGET_MB = 3 * 1024.0

_FIT_PERSISTENCE = """
from market_predictor.config import get_settings
from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.store import FeatureStore

rows = FeatureStore.from_settings(get_settings()).prices().read()
PersistenceForecaster().fit(rows)
print(len(rows))
"""


@dataclass
class Measurement:
    label: str
    seconds: float
    peak_mb: float
    stdout: str


def measure(label: str, command: list[str], env: dict[str, str]) -> Measurement:
    """Run `command` to completion; its wall time and its own peak RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"{label} failed ({process.returncode}): {stderr.strip()[-2000:]}")
    # ru_maxrss is in kilobytes on Linux.
    return Measurement(label, seconds, usage.ru_maxrss / 1024, stdout)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mpp-bench-train-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "MLFLOW_"))} | {
            "MPP_HOME": home
        }
        ingest = measure(
            "mpp ingest (baseline)",
            [str(MPP), "ingest", "--symbols", SYMBOLS, "--source", "sample", "--json"],
            env,
        )
        persistence = measure(
            "fit persistence baseline", [sys.executable, "-c", _FIT_PERSISTENCE], env
        )
        load = os.getloadavg()[0]
        train = measure("mpp train (default config)", [str(MPP), "train", "--json"], env)
    summary = json.loads(train.stdout)
    rows = int(persistence.stdout.strip().splitlines()[-1])
    report = render([ingest, persistence, train], train, ingest, summary, rows, load)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(report)
    return report


def render(
    measurements: list[Measurement],
    train: Measurement,
    baseline: Measurement,
    summary: dict,
    rows: int,
    load: float,
) -> str:
    model = summary["metrics"]["model"]
    naive = summary["metrics"]["persistence"]
    lines = [
        "## Training cost: `mpp train` on the sample data",
        "",
        f"{rows} price rows ({SYMBOLS.replace(',', ', ')}; 2000-03-01..2013-03-01, GOOG from "
        "2004-08-19; real prices from bokeh-sampledata via `mpp ingest --source sample`), "
        "default training config (packaged train.yaml), one global network. "
        f"Machine: {os.cpu_count()} CPU cores shared with other work (1-minute load average "
        f"{load:.1f} when `mpp train` started), {platform.machine()}, "
        f"Python {platform.python_version()}. Each command is a separate process; memory is "
        "its own peak RSS (`ru_maxrss` from `os.wait4`).",
        "",
        "| Command | Wall time (s) | Peak RSS (MB) | Time vs `mpp ingest` |",
        "|---|---:|---:|---:|",
    ]
    for m in measurements:
        ratio = m.seconds / baseline.seconds
        lines.append(f"| {m.label} | {m.seconds:.1f} | {m.peak_mb:.0f} | {ratio:.1f}x |")
    wall_ok = train.seconds < WALL_TARGET_S
    memory_ok = train.peak_mb < MEMORY_TARGET_MB
    lines += [
        "",
        f"- Wall time < {WALL_TARGET_S / 60:.0f} min: **{'met' if wall_ok else 'not met'}** "
        f"({train.seconds:.1f} s; includes process start, creating the training dataset, "
        "fitting, validation, plots, MLflow logging and registration).",
        f"- Peak memory < {MEMORY_TARGET_MB / 1024:.0f} GB: "
        f"**{'met' if memory_ok else 'not met'}** ({train.peak_mb:.0f} MB).",
        f"- Run outcome: {summary['message']} "
        f"(epochs trained: {summary.get('epochs_trained')}; validation from "
        f"{summary.get('validation_start')}; pinball {model['pinball']:.5f} vs persistence "
        f"{naive['pinball']:.5f}, MASE {model['mase']:.3f}).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

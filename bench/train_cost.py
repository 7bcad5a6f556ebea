"""Training cost benchmark: wall time, CPU time and peak memory of `mpp train`, by stage
and by universe size, with the default training config.

Data: for each size, a synthetic universe (bench/synthetic.py: bootstrapped real bars)
of `--years` years of NYSE trading days, ingested into a fresh MPP_HOME through the
parquet source in batches of 1,000 symbols (in a child process, not measured). Then
`mpp train --json` runs as its own process under bench/train_phases.py, which charges
each stage's wall and CPU time exclusively (data loading, feature building, network
fit, rival fits, evaluation, MLflow logging; the rest is start-up, imports and the
report). Whole-process figures come from `os.wait4` (wall, user+system CPU, peak RSS
of that process alone). Results are kept per size in bench/.work/train_cost/results.json,
so a large size can run on its own (`--sizes 500`) and join the table; a size that
exceeds `--timeout` is reported as such.

Run: `.venv/bin/python -m bench.train_cost --sizes 4,50,500 --years 10`
(writes docs/benchmarks/train_cost.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks" / "train_cost.md"
WORK = ROOT / "bench" / ".work" / "train_cost"
RESULTS = WORK / "results.json"
LOAD_BATCH = 1_000
STAGES = (
    "data loading",
    "feature building",
    "network fit",
    "rival fits",
    "evaluation",
    "MLflow logging",
)
# Issue 21's targets for 500 symbols x 10 years on 2 cores.
TARGET_SYMBOLS = 500
WALL_TARGET_S = 15 * 60.0
MEMORY_TARGET_MB = 4 * 1024.0

_PREPARE = """
import sys
from pathlib import Path
from bench.synthetic import make_universe
from market_predictor.config import Settings
from market_predictor.ingest import ingest_prices

folder, n_symbols, years = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
universe = make_universe(n_symbols, years, seed=0)
source = folder / "prices.parquet"
universe.to_parquet(source, index=False)
symbols = sorted(universe["symbol"].unique())
settings = Settings(home=folder / "home", source="parquet", source_path=source, symbols=symbols)
for first in range(0, len(symbols), {batch}):
    ingest_prices(settings, symbols=symbols[first : first + {batch}])
print(len(universe))
""".replace("{batch}", str(LOAD_BATCH))


@dataclass
class SizeResult:
    symbols: int
    rows: int
    wall: float = 0.0
    cpu: float = 0.0
    peak_mb: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    stage_cpu: dict[str, float] = field(default_factory=dict)
    stage_peak_mb: dict[str, float] = field(default_factory=dict)
    epochs: int | None = None
    outcome: str = ""
    pinball: float | None = None
    persistence_pinball: float | None = None
    timed_out: bool = False
    load: float = 0.0


def _environment(home: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "MLFLOW_"))}
    return clean | {"MPP_HOME": str(home), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}


def run_size(n_symbols: int, years: int, timeout: float) -> SizeResult:
    folder = WORK / f"{n_symbols}x{years}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = _environment(folder / "home")
    prepared = subprocess.run(
        [sys.executable, "-c", _PREPARE, str(folder), str(n_symbols), str(years)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result = SizeResult(n_symbols, int(prepared.stdout.strip().splitlines()[-1]))
    phases = folder / "phases.json"
    result.load = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        command = [sys.executable, "-m", "bench.train_phases", "train", "--json"]
        process = subprocess.Popen(
            command, env=env | {"MPP_BENCH_PHASES": str(phases)}, stdout=out, stderr=err, cwd=ROOT
        )
        # Killed at the timeout; wait4 (not Popen.wait) so the usage is this child's own.
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        result.timed_out = not timer.is_alive() and process.returncode == -9
        result.wall = time.perf_counter() - began
        if result.timed_out:
            return result
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"mpp train failed: {err.read().strip()[-2000:]}")
        summary = json.loads(out.read())
    result.cpu = usage.ru_utime + usage.ru_stime
    result.peak_mb = usage.ru_maxrss / 1024
    measured = json.loads(phases.read_text())
    result.stages = measured["wall"]
    result.stage_cpu = measured["cpu"]
    result.stage_peak_mb = measured["peak_mb"]
    result.epochs = summary.get("epochs_trained")
    result.outcome = summary["decision"]
    result.pinball = summary["metrics"]["model"]["pinball"]
    result.persistence_pinball = summary["metrics"]["persistence"]["pinball"]
    shutil.rmtree(folder, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,50,500", help="comma-separated symbol counts")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per size")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for size in (int(s) for s in args.sizes.split(",")):
        result = run_size(size, args.years, args.timeout)
        results[str(size)] = asdict(result) | {"years": args.years, "timeout": args.timeout}
        RESULTS.write_text(json.dumps(results, indent=1))
        report = render(results)
        args.output.write_text(report)
    print(report)
    return report


def render(results: dict[str, dict]) -> str:
    sizes = sorted(results.values(), key=lambda r: r["symbols"])
    done = [r for r in sizes if not r["timed_out"]]
    years = sizes[0]["years"]
    lines = [
        "## Training cost: `mpp train` by universe size",
        "",
        f"Synthetic universes of {years} years of NYSE trading days (`bench/synthetic.py`: "
        "bootstrapped real daily bars), default training config (packaged train.yaml: "
        "LSTM, up to 15 epochs, early stopping, one torch thread), one global network, "
        "rivals persistence, drift and GARCH. "
        f"Machine: {os.cpu_count()} CPU cores shared with other work, {platform.machine()}, "
        f"Python {platform.python_version()}. `mpp train` is one process; wall, CPU "
        "(user+system) and peak RSS are its own (`os.wait4`); stages are timed inside it "
        "(bench/train_phases.py, exclusive of nested stages).",
        "",
        "Command: `.venv/bin/python -m bench.train_cost --sizes "
        + ",".join(str(r["symbols"]) for r in sizes)
        + f" --years {years}`",
        "",
        "| Symbols | Price rows | Wall (s) | CPU (s) | Peak RSS (MB) | Epochs "
        "| Wall per symbol (s) "
        "| Wall per 1k rows (s) | Load avg at start |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sizes:
        if r["timed_out"]:
            lines.append(
                f"| {r['symbols']} | {r['rows']} | > {r['timeout']:.0f} (stopped) | - | - | - "
                f"| - | - | {r['load']:.1f} |"
            )
            continue
        lines.append(
            f"| {r['symbols']} | {r['rows']} | {r['wall']:.1f} | {r['cpu']:.1f} | "
            f"{r['peak_mb']:.0f} | {r['epochs']} | {r['wall'] / r['symbols']:.2f} | "
            f"{1000 * r['wall'] / r['rows']:.3f} | {r['load']:.1f} |"
        )
    if done:
        lines += [
            "",
            "Stages, wall seconds (CPU seconds) and the process's peak RSS in MB by the end "
            "of the stage:",
            "",
            "| Stage | " + " | ".join(f"{r['symbols']} symbols" for r in done) + " |",
            "|---|" + "---:|" * len(done),
        ]
        for stage in STAGES:
            cells = [
                f"{r['stages'].get(stage, 0.0):.1f} ({r['stage_cpu'].get(stage, 0.0):.1f}); "
                f"{r['stage_peak_mb'].get(stage, 0.0):.0f} MB"
                for r in done
            ]
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
        rest = [r["wall"] - sum(r["stages"].values()) for r in done]
        lines.append("| start-up, imports, report | " + " | ".join(f"{s:.1f}" for s in rest) + " |")
        lines += ["", "Outcome per size:", ""]
        for r in done:
            lines.append(
                f"- {r['symbols']} symbols: gate decision `{r['outcome']}` "
                f"(network pinball {r['pinball']:.5f} "
                f"vs persistence {r['persistence_pinball']:.5f})."
            )
    target = next((r for r in sizes if r["symbols"] == TARGET_SYMBOLS), None)
    if target is not None and not target["timed_out"]:
        wall_ok = target["wall"] < WALL_TARGET_S
        memory_ok = target["peak_mb"] < MEMORY_TARGET_MB
        lines += [
            "",
            f"- {TARGET_SYMBOLS} symbols under {WALL_TARGET_S / 60:.0f} min: "
            f"**{'met' if wall_ok else 'not met'}** ({target['wall']:.0f} s); peak under "
            f"{MEMORY_TARGET_MB / 1024:.0f} GB: **{'met' if memory_ok else 'not met'}** "
            f"({target['peak_mb']:.0f} MB).",
        ]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

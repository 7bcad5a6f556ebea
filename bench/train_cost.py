"""Training cost benchmark: wall time, CPU time and peak memory of `mpp train` and
`mpp backtest`, by stage and by universe size, with the default configuration (the
packaged training config, every horizon and every rival).

Data: for each size, a synthetic universe (bench/synthetic.py: bootstrapped real bars)
of `--years` years of NYSE trading days, ingested into a fresh MPP_HOME through the
parquet source in batches of 1,000 symbols (in a child process, not measured). Then
each command runs as its own process under bench/train_phases.py, which charges each
stage's wall and CPU time exclusively (data loading, feature building, network fit,
rival fits, evaluation, MLflow logging; the rest is start-up, imports and the report).
Whole-process figures come from `os.wait4` (wall, user+system CPU, peak RSS of that
process alone) plus the CPU of the rival fits' fork server and its workers, which the
command never reaps. Results are kept per command and size in
bench/.work/train_cost/results.json, so a large size can run on its own
(`--sizes 5000 --max-epochs 1`) and join the table; a run that exceeds `--timeout` is
reported as such.

Run: `.venv/bin/python -m bench.train_cost --sizes 4,50,500 --years 10`
(writes docs/benchmarks/train_cost.md, keeping any section after the generated one).
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
from typing import Any

from bench.train_phases import STAGES

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks" / "train_cost.md"
WORK = ROOT / "bench" / ".work" / "train_cost"
RESULTS = WORK / "results.json"
LOAD_BATCH = 1_000
COMMANDS = ("train", "backtest")
# Issue 21's targets for 500 symbols x 10 years on 2 cores.
TARGET_SYMBOLS = 500
WALL_TARGET_S = 15 * 60.0
MEMORY_TARGET_MB = 4 * 1024.0
LARGE_SYMBOLS = 5_000
LARGE_MEMORY_TARGET_MB = 8 * 1024.0
# Everything above this line of the report is generated; what follows it (a section
# another benchmark adds, say) is kept when the report is rewritten.
END_MARKER = "<!-- end of bench.train_cost output -->"

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
class Run:
    command: str
    symbols: int
    rows: int
    arguments: list[str]
    fit_workers: int
    wall: float = 0.0
    cpu: float = 0.0
    peak_mb: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    stage_cpu: dict[str, float] = field(default_factory=dict)
    stage_peak_mb: dict[str, float] = field(default_factory=dict)
    epochs: int | None = None  # train: epochs the network ran
    folds: int | None = None  # backtest: refits of every forecaster
    outcome: str = ""
    pinball: float | None = None
    persistence_pinball: float | None = None
    timed_out: bool = False
    load_before: str = ""
    load_after: str = ""


def _environment(home: Path, fit_workers: int) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "MLFLOW_"))}
    return clean | {
        "MPP_HOME": str(home),
        "MPP_FIT_WORKERS": str(fit_workers),
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
    }


def prepare(n_symbols: int, years: int, reuse: bool = False) -> tuple[Path, int]:
    """A fresh home holding the universe; its folder and the number of price rows. With
    `reuse`, a home an earlier `--prepare-only` or `--keep` run left is taken as it is
    (copied, so that every command starts from the ingested store alone)."""
    folder = WORK / f"{n_symbols}x{years}"
    kept = WORK / f"{n_symbols}x{years}-prepared"
    if reuse and (kept / "rows").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(kept, folder)
        return folder, int((kept / "rows").read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    prepared = subprocess.run(
        [sys.executable, "-c", _PREPARE, str(folder), str(n_symbols), str(years)],
        env=_environment(folder / "home", 1),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = int(prepared.stdout.strip().splitlines()[-1])
    (folder / "rows").write_text(str(rows))
    if reuse:
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(folder, kept)
    return folder, rows


def run_command(
    folder: Path, rows: int, n_symbols: int, command: str, arguments: list[str], options: Any
) -> Run:
    result = Run(command, n_symbols, rows, arguments, options.fit_workers)
    phases = folder / f"{command}-phases.json"
    env = _environment(folder / "home", options.fit_workers) | {"MPP_BENCH_PHASES": str(phases)}
    result.load_before = _load()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.train_phases", command, "--json", *arguments],
            env=env,
            stdout=out,
            stderr=err,
            cwd=ROOT,
        )
        # Killed at the timeout; wait4 (not Popen.wait) so the usage is this child's own.
        timer = threading.Timer(options.timeout, process.kill)
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        result.timed_out = not timer.is_alive() and process.returncode == -9
        result.wall = time.perf_counter() - began
        result.load_after = _load()
        if result.timed_out:
            return result
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"mpp {command} failed: {err.read().strip()[-2000:]}")
        summary = json.loads(out.read())
    measured = json.loads(phases.read_text())
    result.cpu = usage.ru_utime + usage.ru_stime + measured["children_cpu_at_exit"]
    result.peak_mb = usage.ru_maxrss / 1024
    result.stages = measured["wall"]
    result.stage_cpu = measured["cpu"]
    result.stage_peak_mb = measured["peak_mb"]
    if command == "train":
        result.epochs = summary.get("epochs_trained")
        result.outcome = summary["decision"]
        result.pinball = summary["metrics"]["model"]["pinball"]
        result.persistence_pinball = summary["metrics"]["persistence"]["pinball"]
    else:
        result.folds = len(summary["folds"])
    return result


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,50,500", help="comma-separated symbol counts")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--commands", default=",".join(COMMANDS))
    parser.add_argument("--max-epochs", type=int, default=None, help="for both commands")
    parser.add_argument(
        "--backtest-args", default="", help="extra `mpp backtest` options ('--retrain-every 12M')"
    )
    parser.add_argument("--fit-workers", type=int, default=1, help="MPP_FIT_WORKERS")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0, help="seconds per run")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the ingested home and start from it next time"
    )
    parser.add_argument("--prepare-only", action="store_true", help="ingest (with --reuse)")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    epochs = [] if args.max_epochs is None else ["--max-epochs", str(args.max_epochs)]
    arguments = {"train": epochs, "backtest": [*epochs, *args.backtest_args.split()]}
    for size in (int(s) for s in args.sizes.split(",")):
        folder, rows = prepare(size, args.years, reuse=args.reuse or args.prepare_only)
        if args.prepare_only:
            continue
        for command in args.commands.split(","):
            run = run_command(folder, rows, size, command, arguments[command], args)
            results = _saved(f"{command}:{size}", asdict(run) | {"years": args.years})
            write_report(render(results), args.output)
        shutil.rmtree(folder, ignore_errors=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if not results:
        return ""
    report = render(results)
    write_report(report, args.output)
    print(report)
    return report


def _saved(key: str, result: dict[str, Any]) -> dict[str, Any]:
    """Every stored result with `result` under `key`, read again just before writing:
    another size may be running alongside and have added its own."""
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[key] = result
    RESULTS.write_text(json.dumps(results, indent=1))
    return results


def write_report(report: str, output: Path) -> None:
    """Write the generated report, keeping whatever follows END_MARKER in the file."""
    kept = ""
    if output.is_file():
        _, marker, rest = output.read_text().partition(END_MARKER)
        kept = rest if marker else ""
    output.write_text(f"{report}\n{END_MARKER}{kept}" if kept else f"{report}\n{END_MARKER}\n")


def render(results: dict[str, dict[str, Any]]) -> str:
    runs = sorted(results.values(), key=lambda r: (COMMANDS.index(r["command"]), r["symbols"]))
    years = runs[0]["years"]
    lines = [
        "## Training cost: `mpp train` and `mpp backtest` by universe size",
        "",
        f"Synthetic universes of {years} years of NYSE trading days (`bench/synthetic.py`: "
        "bootstrapped real daily bars), default configuration: the packaged train.yaml "
        "(LSTM, window 30, up to 15 epochs with early stopping, one torch thread), horizons "
        "1, 5 and 21, every rival (persistence, drift, GARCH, GJR-GARCH, EGARCH, HAR). "
        f"Machine: {os.cpu_count()} CPU cores shared with other agents' work, "
        f"{platform.machine()}, Python {platform.python_version()}. Each command is one "
        "process; wall, CPU (user+system, with the rival fits' worker processes) and peak "
        "RSS are its own (`os.wait4`); stages are timed inside it (bench/train_phases.py, "
        "exclusive of nested stages). The load average (1, 5, 15 min) is taken before and "
        "after each run: other agents share the two cores, so CPU seconds are the less "
        "noisy figure.",
        "",
        "Commands (each row's extra options are in its Options column): "
        "`.venv/bin/python -m bench.train_cost --sizes 4,50,500 --years 10` and "
        "`.venv/bin/python -m bench.train_cost --sizes 5000 --years 10 --max-epochs 1 "
        "--backtest-args '--retrain-every 12M'`.",
    ]
    for command in COMMANDS:
        mine = [r for r in runs if r["command"] == command]
        if mine:
            lines += ["", *_command_section(command, mine)]
    lines += _targets(runs)
    return "\n".join(lines)


def _command_section(command: str, runs: list[dict[str, Any]]) -> list[str]:
    done = [r for r in runs if not r["timed_out"]]
    lines = [
        f"### `mpp {command}`",
        "",
        "| Symbols | Price rows | Options | Epochs / folds | Wall (s) | CPU (s) | Peak RSS (MB) "
        "| CPU per symbol (s) | CPU per 1k rows (s) | Network fit per epoch, CPU (s) "
        "| Load before | Load after |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in runs:
        options = " ".join(r["arguments"]) + f" (workers {r['fit_workers']})"
        if r["timed_out"]:
            lines.append(
                f"| {r['symbols']} | {r['rows']} | {options} | - | > {r['wall']:.0f} (stopped) "
                f"| - | - | - | - | - | {r['load_before']} | {r['load_after']} |"
            )
            continue
        count = r["epochs"] if command == "train" else r["folds"]
        lines.append(
            f"| {r['symbols']} | {r['rows']} | {options} | {count} | {r['wall']:.1f} "
            f"| {r['cpu']:.1f} | {r['peak_mb']:.0f} | {r['cpu'] / r['symbols']:.2f} "
            f"| {1000 * r['cpu'] / r['rows']:.3f} | {_per_epoch(r)} "
            f"| {r['load_before']} | {r['load_after']} |"
        )
    if not done:
        return lines
    lines += [
        "",
        "Stages: wall seconds (CPU seconds), and the process's peak RSS in MB by the end of "
        "the stage:",
        "",
        "| Stage | " + " | ".join(f"{r['symbols']} symbols" for r in done) + " |",
        "|---|" + "---:|" * len(done),
    ]
    for stage in STAGES:
        if not any(stage in r["stages"] for r in done):
            continue
        cells = [
            f"{r['stages'].get(stage, 0.0):.1f} ({r['stage_cpu'].get(stage, 0.0):.1f}); "
            f"{r['stage_peak_mb'].get(stage, 0.0):.0f} MB"
            for r in done
        ]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    rest = [r["wall"] - sum(r["stages"].values()) for r in done]
    lines.append("| start-up, imports, report | " + " | ".join(f"{s:.1f}" for s in rest) + " |")
    if command == "train":
        lines += ["", "Gate outcome per size:", ""]
        for r in done:
            lines.append(
                f"- {r['symbols']} symbols: `{r['outcome']}` (network pinball "
                f"{r['pinball']:.5f} vs persistence {r['persistence_pinball']:.5f})."
            )
    return lines


def _per_epoch(run: dict[str, Any]) -> str:
    """The network fit's CPU per epoch (per fold and epoch run, for a backtest)."""
    epochs = run["epochs"] if run["command"] == "train" else None
    cpu = run["stage_cpu"].get("network fit")
    if cpu is None or not epochs:
        return "-"
    # Lightning's current_epoch after fit: the epochs run (the last may stop early).
    return f"{cpu / epochs:.1f}"


def _targets(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["", "### Targets", ""]
    train = {r["symbols"]: r for r in runs if r["command"] == "train" and not r["timed_out"]}
    target = train.get(TARGET_SYMBOLS)
    if target is not None:
        wall_ok = target["wall"] < WALL_TARGET_S
        memory_ok = target["peak_mb"] < MEMORY_TARGET_MB
        lines.append(
            f"- `mpp train`, {TARGET_SYMBOLS} symbols under {WALL_TARGET_S / 60:.0f} min: "
            f"**{'met' if wall_ok else 'not met'}** ({target['wall']:.0f} s wall, "
            f"{target['cpu']:.0f} CPU-s); peak under {MEMORY_TARGET_MB / 1024:.0f} GB: "
            f"**{'met' if memory_ok else 'not met'}** ({target['peak_mb']:.0f} MB)."
        )
    large = train.get(LARGE_SYMBOLS)
    if large is not None:
        ok = large["peak_mb"] < LARGE_MEMORY_TARGET_MB
        lines.append(
            f"- `mpp train`, {LARGE_SYMBOLS} symbols, peak within "
            f"{LARGE_MEMORY_TARGET_MB / 1024:.0f} GB: **{'met' if ok else 'not met'}** "
            f"({large['peak_mb']:.0f} MB)."
        )
    return [*lines, ""]


def _load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()

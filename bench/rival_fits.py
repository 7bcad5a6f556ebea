"""Per-symbol rival fits: wall and CPU time with 1 and 2 worker processes.

Fits every volatility rival (GARCH, GJR-GARCH, EGARCH, HAR) on N synthetic symbols
(bench/synthetic.py: bootstrapped real daily bars, 10 years each by default) with
`fit(prices, workers=1)` and then `workers=2`, in the same process, and checks that both
give the same parameters. Wall time is `perf_counter`; CPU time is this process's plus
its children's (the fork server and, through it, the workers it reaps), read from
/proc, so it counts the pool's work and overhead but no other process on the machine.

The fork server starts once per process (it imports numpy, pandas, scipy and arch);
that cold start is measured on its own, before the first timed fit, and reported
separately: a training run or daily job pays it once, not once per rival.

Run: `.venv/bin/python -m bench.rival_fits` (writes docs/benchmarks/rival_fits.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.synthetic import make_universe
from bench.train_phases import children_cpu
from market_predictor.features import build_features
from market_predictor.models.per_symbol import map_per_symbol
from market_predictor.models.rivals import VOLATILITY_FORECASTERS

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "rival_fits.md"
SPEED_UP_TARGET = 1.8


@dataclass
class Timing:
    wall: float
    main_cpu: float  # this process: features, the pool's bookkeeping, pooling
    workers_cpu: float  # the fork server and the workers it reaped

    @property
    def cpu(self) -> float:
        return self.main_cpu + self.workers_cpu

    @property
    def critical_path(self) -> float:
        """CPU seconds on the busiest core if the workers split their work evenly and
        had a core each: what the wall time would be on free cores."""
        workers = 2 if self.workers_cpu else 1
        return self.main_cpu + self.workers_cpu / workers


@dataclass
class Row:
    kind: str
    symbols: int
    serial: Timing
    parallel: Timing
    same_params: bool

    @property
    def speed_up(self) -> float:
        return self.serial.wall / self.parallel.wall

    @property
    def cpu_speed_up(self) -> float:
        """The speed-up the CPU seconds imply on two free cores (see critical_path)."""
        return self.serial.critical_path / self.parallel.critical_path


def _square(value: float) -> float:
    return value * value


def start_fork_server() -> float:
    """Seconds to start the pool machinery the first time (fork server + preloads)."""
    began = time.perf_counter()
    map_per_symbol(_square, {"A": 1.0, "B": 2.0}, workers=2)
    return time.perf_counter() - began


def time_fit(
    kind: str, prices: pd.DataFrame, workers: int, horizons: tuple[int, ...]
) -> tuple[Timing, dict[str, Any]]:
    forecaster = VOLATILITY_FORECASTERS[kind](horizons=horizons)
    wall, main, workers_cpu = time.perf_counter(), time.process_time(), children_cpu()
    forecaster.fit(prices, workers=workers)
    timing = Timing(
        time.perf_counter() - wall, time.process_time() - main, children_cpu() - workers_cpu
    )
    return timing, forecaster.to_params()


def measure(
    n_symbols: int, years: int, kinds: list[str], horizons: tuple[int, ...]
) -> tuple[list[Row], float]:
    """Each rival's timings, and the seconds build_features takes on the universe (the
    serial part of every fit)."""
    prices = make_universe(n_symbols, years, seed=0)
    began = time.perf_counter()
    build_features(prices)
    features_seconds = time.perf_counter() - began
    rows = []
    for kind in kinds:
        serial, serial_params = time_fit(kind, prices, 1, horizons)
        parallel, parallel_params = time_fit(kind, prices, 2, horizons)
        rows.append(Row(kind, n_symbols, serial, parallel, serial_params == parallel_params))
        print(
            f"{kind:>9} {n_symbols:>5} symbols: 1 worker {serial.wall:6.2f} s, "
            f"2 workers {parallel.wall:6.2f} s ({rows[-1].speed_up:.2f}x)",
            file=sys.stderr,
        )
    return rows, features_seconds


def render(
    rows: list[Row],
    years: int,
    horizons: tuple[int, ...],
    cold_start: float,
    context: dict[int, tuple[str, str, float]],
    command: str,
) -> str:
    lines = [
        "## Per-symbol rival fits: 1 vs 2 worker processes",
        "",
        f"Synthetic symbols of {years} years of NYSE trading days each (bench/synthetic.py: "
        "bootstrapped real daily bars of AAPL, IBM, MSFT, GOOG, seed 0), horizons "
        f"{', '.join(map(str, horizons))} (the default `MPP_HORIZONS`). Each rival is fitted "
        "with `fit(prices, workers=1)` (in process, no pool) and then `workers=2` (a "
        "forkserver process pool) in the same run; both give identical parameters (column "
        "'same'). Wall time includes building the features and pooling the parameters, "
        "which stay serial. CPU is this process plus its children (the fork server and the "
        "workers it reaps), from /proc.",
        "",
        f"Machine: {os.cpu_count()} CPU cores shared with other work, {platform.machine()}, "
        f"Python {platform.python_version()}. Fork server cold start (once per process, "
        f"not in the rows below): {cold_start:.2f} s.",
        "",
        "Speed-up is the ratio of wall times; it can only show when the other core is "
        "free. The CPU-based speed-up does not depend on that: the 1-worker CPU seconds over "
        "the 2-worker critical path, i.e. this process's CPU seconds plus half of the "
        "workers' (the busiest core's seconds if each worker had a core and they split "
        "the symbols evenly).",
        "",
        "| Rival | Symbols | 1 worker wall (s) | 1 worker CPU (s) | 2 workers wall (s) "
        "| 2 workers CPU: main + workers (s) | Speed-up (wall) | Speed-up (CPU-based) "
        "| Same |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.kind} | {row.symbols} | {row.serial.wall:.2f} | {row.serial.cpu:.2f} "
            f"| {row.parallel.wall:.2f} | {row.parallel.main_cpu:.2f} + "
            f"{row.parallel.workers_cpu:.2f} | {row.speed_up:.2f}x | {row.cpu_speed_up:.2f}x "
            f"| {'yes' if row.same_params else 'NO'} |"
        )
    lines.append("")
    for n, (before, after, features) in context.items():
        lines.append(
            f"- {n} symbols: load average (1, 5, 15 min) {before} before, {after} after; "
            f"build_features alone takes {features:.2f} s of each fit (serial)."
        )
    for n in context:
        at_n = [r for r in rows if r.symbols == n]
        serial = sum(r.serial.wall for r in at_n)
        parallel = sum(r.parallel.wall for r in at_n)
        by_cpu = sum(r.serial.critical_path for r in at_n) / sum(
            r.parallel.critical_path for r in at_n
        )
        met = [r.kind for r in at_n if r.speed_up >= SPEED_UP_TARGET]
        met_cpu = [r.kind for r in at_n if r.cpu_speed_up >= SPEED_UP_TARGET]
        lines.append(
            f"- {n} symbols, all rivals: {serial:.1f} s on 1 worker, {parallel:.1f} s on 2 "
            f"({serial / parallel:.2f}x wall, {by_cpu:.2f}x CPU-based; target >= "
            f"{SPEED_UP_TARGET}x). At or above the target by wall: {', '.join(met) or 'none'}; "
            f"CPU-based: {', '.join(met_cpu) or 'none'}."
        )
    lines += ["", f"Command: `{command}`", ""]
    return "\n".join(lines)


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--kinds", nargs="+", default=sorted(VOLATILITY_FORECASTERS))
    parser.add_argument("--horizons", default="1,5,21", help="comma-separated, as MPP_HORIZONS")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    horizons = tuple(int(h) for h in args.horizons.split(","))
    cold_start = start_fork_server()
    rows: list[Row] = []
    context: dict[int, tuple[str, str, float]] = {}
    for n_symbols in args.symbols:
        before = _load()
        measured, features_seconds = measure(n_symbols, args.years, args.kinds, horizons)
        rows += measured
        context[n_symbols] = (before, _load(), features_seconds)
    arguments = sys.argv[1:] if argv is None else argv
    command = " ".join([".venv/bin/python -m bench.rival_fits", *arguments])
    report = render(rows, args.years, horizons, cold_start, context, command)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(report)
    return report


if __name__ == "__main__":
    main()

"""Daily-job benchmark: one `mpp daily` (1-day incremental ingest from a local Parquet
file + batch predict + monitor) for 5, 50 and 500 symbols.

Run: .venv/bin/python -m bench.daily [--sizes 5,50,500] [--years 10]
Each measured step is its own process, timed on the wall clock, with peak memory from
that process's own rusage (os.wait4). In the same run, for contrast, the original
system's shape: a model load and a store read per symbol (then its forecast; no
write, which flatters it). Setup (history ingest, champion, the previous day's
forecasts) runs in this process and is not measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "daily"
REPORT = ROOT / "docs" / "benchmarks" / "daily.md"
MPP = str(Path(sys.executable).with_name("mpp"))
TARGET_SECONDS, TARGET_MB = 30.0, 2048.0


@dataclass
class Step:
    seconds: float
    peak_mb: float
    output: dict[str, object]


def measure(command: list[str], env: dict[str, str]) -> Step:
    """Run `command` to completion; its output goes to files so a large JSON summary
    cannot fill a pipe before os.wait4 collects the child's rusage."""
    out_path, err_path = WORK / "stdout.txt", WORK / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = err_path.read_text()[-2000:]
        raise SystemExit(f"{' '.join(command[:3])} failed: {tail}")
    lines = out_path.read_text().strip().splitlines()
    text = lines[-1] if lines else ""
    # ru_maxrss is in KiB on Linux.
    return Step(seconds, usage.ru_maxrss / 1024, json.loads(text) if text.startswith("{") else {})


def prepare(n_symbols: int, years: int) -> dict[str, object]:
    """A home holding every day but the last, a persistence-baseline champion and the
    forecasts made the day before. Runs in its own process (see main) so that this
    runner stays small: Linux children inherit the parent's peak RSS as their floor."""
    from bench.synthetic import make_universe
    from market_predictor.config import Settings
    from market_predictor.inference import predict
    from market_predictor.ingest import ingest_prices
    from market_predictor.registry import register_baseline

    folder = WORK / f"n{n_symbols}"
    universe = make_universe(n_symbols, years, seed=0)
    path = folder / "prices.parquet"
    universe.to_parquet(path, index=False)
    days = sorted(universe["date"].unique())
    last_day, day_before = (dt.date.fromisoformat(str(d)[:10]) for d in (days[-1], days[-2]))
    symbols = sorted(universe["symbol"].unique())
    settings = Settings(home=folder / "home", source="parquet", source_path=path, symbols=symbols)
    ingest_prices(settings, end=day_before, as_of=day_before)
    register_baseline(settings, trained_until=day_before)
    predict(settings, as_of=day_before)
    return {"day": last_day.isoformat(), "rows": len(universe), "symbols": symbols}


def original_shape(as_of: dt.date) -> None:
    """The original system's loop: for every symbol load the model, read its rows from
    the store, forecast. Runs in its own process (see main)."""
    from market_predictor import calendar
    from market_predictor.config import get_settings
    from market_predictor.registry import load_champion
    from market_predictor.store import FeatureStore

    settings = get_settings()
    start = calendar.shift_trading_days(as_of, -60, "XNYS")
    forecasts = 0
    for symbol in settings.symbols:
        champion = load_champion(settings)
        rows = FeatureStore.from_settings(settings).prices().read([symbol], start, as_of)
        forecasts += len(champion.predict(rows))
    print(json.dumps({"forecasts": forecasts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5,50,500")
    parser.add_argument("--years", type=int, default=10)
    # Worker modes, run as child processes by the runner below.
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--original-shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps(prepare(args.prepare, args.years)))
        return
    if args.original_shape:
        original_shape(dt.date.fromisoformat(args.original_shape))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "MLFLOW_"))}
    for n_symbols in sizes:
        folder = WORK / f"n{n_symbols}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        worker = [sys.executable, "-m", "bench.daily", "--years", str(args.years)]
        setup = measure([*worker, "--prepare", str(n_symbols)], base_env).output
        env = base_env | {
            "MPP_HOME": str(folder / "home"),
            "MPP_SOURCE": "parquet",
            "MPP_SOURCE_PATH": str(folder / "prices.parquet"),
            "MPP_SYMBOLS": ",".join(setup["symbols"]),  # type: ignore[arg-type]
        }
        day = str(setup["day"])
        floor = measure(
            [sys.executable, "-c", "import market_predictor.registry, mlflow.pyfunc, torch"], env
        )
        daily = measure([MPP, "daily", "--as-of", day, "--json"], env)
        per_symbol = measure([*worker, "--original-shape", day], env)
        results.append((n_symbols, int(setup["rows"]), floor, daily, per_symbol))  # type: ignore[call-overload]
        print(
            f"{n_symbols} symbols: daily {daily.seconds:.1f} s, "
            f"per-symbol {per_symbol.seconds:.1f} s"
        )
    report = render(args.years, results)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    print(report)


def render(years: int, results: list[tuple[int, int, Step, Step, Step]]) -> str:
    lines = [
        "## Daily job",
        "",
        f"Synthetic universes of {years} years of NYSE trading days made by "
        "`bench/synthetic.py` (each symbol a bootstrap of whole real daily bars of the "
        "bokeh-sampledata AAPL, IBM, MSFT and GOOG prices, with its own price level and "
        "volatility scale), stored in a local Parquet file. The store holds every day but "
        "the last; the champion is the persistence baseline (a registered MLflow pyfunc "
        "with a calibrated interval); the forecasts of the day before exist, so monitoring "
        "scores one realised error per symbol. Measured: one `mpp daily --as-of <last day>` "
        "process (incremental ingest of the last day, batch forecast of every symbol in "
        "one write, realised errors, rolling skill, drift, retrain decision). Contrast, "
        "same data, same run: the original system's shape, one model load and one store "
        "read per symbol, then the forecast (no write). Floor: a process that only imports "
        "the libraries. Every step is its own process; peak memory is its max RSS (on "
        "Linux a child's max RSS starts at its parent's, so the setup runs in a child "
        "too and this runner stays small).",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}.",
        "",
        "| symbols | rows stored | floor: imports (s) | daily job (s) | of which ingest / "
        "predict / monitor (s) | peak RSS (MB) | per-symbol shape (s) | x daily job "
        "| per-symbol peak (MB) | target < 30 s, < 2 GB |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for n_symbols, rows, floor, daily, per_symbol in results:
        seconds = daily.output.get("seconds", {})
        assert isinstance(seconds, dict)
        inside = " / ".join(
            f"{seconds.get(s, float('nan')):.2f}" for s in ("ingest", "predict", "monitor")
        )
        met = daily.seconds < TARGET_SECONDS and daily.peak_mb < TARGET_MB
        lines.append(
            f"| {n_symbols} | {rows:,} | {floor.seconds:.1f} | {daily.seconds:.1f} | {inside} | "
            f"{daily.peak_mb:.0f} | {per_symbol.seconds:.1f} | "
            f"{per_symbol.seconds / daily.seconds:.1f} | {per_symbol.peak_mb:.0f} | "
            f"{'yes' if met else '**no**'} |"
        )
    if len(results) > 1:
        (n0, _, _, d0, p0), (n1, _, _, d1, p1) = results[0], results[-1]
        work0 = sum(d0.output.get("seconds", {}).values())  # type: ignore[union-attr]
        work1 = sum(d1.output.get("seconds", {}).values())  # type: ignore[union-attr]
        lines += [
            "",
            f"From {n0} to {n1} symbols ({n1 / n0:.0f}x) the daily job's work inside the "
            f"process grows {work1 / max(work0, 1e-9):.1f}x ({work0:.2f} s to {work1:.2f} s) "
            f"and its wall time {d1.seconds / d0.seconds:.1f}x: the champion is loaded once "
            "and every symbol is read, forecast and written in one batch per table, so an "
            f"extra symbol costs about {(d1.seconds - d0.seconds) / (n1 - n0) * 1000:.0f} ms. "
            "The per-symbol shape pays a model load and a store read for each symbol, about "
            f"{(p1.seconds - p0.seconds) / (n1 - n0) * 1000:.0f} ms per extra symbol, and "
            f"grows {p1.seconds / p0.seconds:.1f}x. Wall times include interpreter start-up "
            "and imports (the floor column); the machine is shared, so single runs vary by "
            "a second or two.",
        ]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

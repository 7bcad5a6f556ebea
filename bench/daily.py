"""Daily-job and replay benchmark at scale, this code beside the baseline code.

Run: .venv/bin/python -m bench.daily [--sizes 500,5000] [--years 10]
     [--replay-symbols 500] [--replay-days 252] [--baseline-days 5] [--baseline-ref REF]
     [--reuse]

For each size: a synthetic universe (bench/synthetic.py) of `years` years in a local
Parquet file; a store holding every day but the last, loaded in batches of 1,000
symbols; a network champion (an LSTM trained briefly on 20 of the symbols and promoted,
so inference runs the network for every symbol); the forecasts of the day before. Then,
each in its own process on its own copy of that home, timed on the wall clock with
peak memory from the process's rusage (os.wait4):
- `mpp daily --as-of <last day>` with this code, run with `python -X importtime`, so
  the process itself reports how long its imports took, lazy ones included (work =
  wall time minus that);
- the same command with the baseline code: the tree of `--baseline-ref` (default: the
  merge base with main, i.e. main without this branch), exported with `git archive`
  and put first on PYTHONPATH.
Both runs must store the same forecasts; the report says whether they did.
Replay: a store holding history up to a year before the end and a network champion
trained until then; `mpp replay --no-retrain` over the last `replay-days` trading days
with this code, and over the first `baseline-days` of them with the baseline code (its
per-day cost times the days gives its estimate, labelled as such).
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
from typing import TYPE_CHECKING

from bench.daily_horizons import render_horizons, run_horizons

if TYPE_CHECKING:
    import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "daily"
REPORT = ROOT / "docs" / "benchmarks" / "daily.md"
MPP = str(Path(sys.executable).with_name("mpp"))
LOAD_BATCH = 1_000  # symbols per ingest while building the store
SOURCE_ROW_GROUP = 50_000  # rows per row group of the synthetic source file
TRAIN_SYMBOLS = 20
TRAIN_EPOCHS = 2
WORK_TARGETS = {500: 1.5, 5000: 10.0}  # seconds of daily work beyond imports
MEMORY_TARGET_MB = 2048.0
REPLAY_TARGET_S = 300.0  # for a year
# The rivals the prepared champions' training fits (the network is promoted whatever
# the gate says): EGARCH's filter divides by a variance that underflows to zero on
# some synthetic series (ZeroDivisionError), and the daily job never fits rivals.
PREPARE_RIVALS = "persistence,drift,garch"
YEAR_DAYS = 252


@dataclass
class Step:
    seconds: float
    peak_mb: float
    output: dict[str, object]
    cpu: float = 0.0  # user + system seconds: less sensitive than wall time to other load
    imports: float = 0.0  # seconds spent importing, from the process's own -X importtime
    load: float = 0.0  # the machine's 1-minute load average when the step ended


def measure(command: list[str], env: dict[str, str], label: str) -> Step:
    """Run `command` to completion; its output goes to files so a large JSON summary
    cannot fill a pipe before os.wait4 collects the child's rusage."""
    out_path, err_path = WORK / f"{label}.stdout", WORK / f"{label}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label} failed: {err_path.read_text()[-3000:]}")
    lines = out_path.read_text().strip().splitlines()
    text = lines[-1] if lines else ""
    # ru_maxrss is in KiB on Linux.
    output = json.loads(text) if text.startswith("{") else {}
    cpu = usage.ru_utime + usage.ru_stime
    load = os.getloadavg()[0]
    return Step(seconds, usage.ru_maxrss / 1024, output, cpu, import_seconds(err_path), load)


def import_seconds(stderr: Path) -> float:
    """Total import time of a process run with `-X importtime`: the sum of every
    module's own ("self") time, lazy imports included, wherever they happened."""
    total_us = 0
    for line in stderr.read_text(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            own = line.removeprefix("import time:").split("|")[0].strip()
            total_us += int(own) if own.isdigit() else 0
    return total_us / 1e6


# -- worker modes (child processes) -------------------------------------------------------


def prepare(
    folder: Path,
    n_symbols: int,
    years: int,
    history_end: str | None,
    replay_until: str | None = None,
) -> dict[str, object]:
    """A home holding the history up to the day before the measured one (or up to
    `history_end`), a promoted network champion trained until then (on the horizons of
    MPP_HORIZONS), and that day's forecasts; with `replay_until`, the daily job of every
    trading day after it up to then as well (no retraining), so the measured day finds
    the realised errors of every horizon. Runs in a child so this runner stays small (a
    child's max RSS starts at its parent's)."""
    from bench.synthetic import make_universe
    from market_predictor.config import Settings
    from market_predictor.day import resolve_day
    from market_predictor.inference import predict
    from market_predictor.ingest import ingest_prices
    from market_predictor.registry import promote
    from market_predictor.training import train

    universe = make_universe(n_symbols, years, seed=0)
    path = folder / "prices.parquet"
    # It stands in for Yahoo, which sends only the days asked for: stored by date in
    # small row groups, a read of the last days skips the rest of the file.
    universe.sort_values(["date", "symbol"]).to_parquet(
        path, index=False, row_group_size=SOURCE_ROW_GROUP
    )
    days = [dt.date.fromisoformat(str(d)[:10]) for d in sorted(universe["date"].unique())]
    symbols = sorted(universe["symbol"].unique())
    del universe
    cut = dt.date.fromisoformat(history_end) if history_end else days[-2]
    settings = Settings(home=folder / "home", source="parquet", source_path=path, symbols=symbols)
    for first in range(0, len(symbols), LOAD_BATCH):
        ingest_prices(settings, symbols=symbols[first : first + LOAD_BATCH], end=cut, as_of=cut)
    trained = train(
        settings,
        symbols=symbols[:TRAIN_SYMBOLS],
        start=cut - dt.timedelta(days=3 * 365),
        end=cut,
        max_epochs=TRAIN_EPOCHS,
        promote=False,
    )
    promote(settings, trained.version)
    predict(resolve_day(settings, as_of=cut))
    if replay_until:
        from market_predictor.pipeline import replay

        until = dt.date.fromisoformat(replay_until)
        replay(settings, start=cut + dt.timedelta(days=1), end=until, retrain=False)
        cut = until
    later = [d for d in days if d > cut]
    return {
        "day": later[0].isoformat(),
        "last_day": days[-1].isoformat(),
        "rows": len(days) * len(symbols),
        "symbols": symbols,
        "champion": f"{trained.network} v{trained.version}",
    }


def same_tables(home: Path, other: Path, until: str) -> dict[str, bool]:
    """Whether two homes hold the same rows, dated up to `until`, in each table the
    daily job writes (write times and run ids aside)."""
    import pandas as pd

    from market_predictor.store import FeatureStore

    def tables(path: Path) -> dict[str, pd.DataFrame]:
        store = FeatureStore(str(path / "store"))
        frames = {
            "prices": store.prices().read().drop(columns="ingested_at"),
            "predictions": store.predictions.read().drop(columns=["created_at", "run_id"]),
            "errors": store.errors.read().drop(columns="created_at"),
            "summary": store.summary.read().drop(columns="created_at"),
            "scales": store.scales.read().drop(columns="created_at"),
        }
        keys = {"prices": ["symbol", "date"], "summary": ["date", "symbol", "horizon"]}
        keys["scales"] = ["date", "symbol", "horizon", "model_version"]
        keys["predictions"] = ["symbol", "as_of_date", "horizon", "model_version"]
        keys["errors"] = ["symbol", "target_date", "horizon", "model_version"]
        dated = {"prices": "date", "predictions": "as_of_date", "errors": "target_date"}
        last = pd.Timestamp(until)
        return {
            name: frame[frame[dated.get(name, "date")] <= last].sort_values(
                keys[name], ignore_index=True
            )
            for name, frame in frames.items()
        }

    ours, theirs = tables(home), tables(other)
    return {name: _same_values(ours[name], theirs[name]) for name in ours}


def _same_values(ours: pd.DataFrame, theirs: pd.DataFrame) -> bool:
    """Equal values, whatever the dtypes: a nullable integer column reads as float from
    a longer table (one with a null in a later row) and as int from a shorter one."""
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    except AssertionError:
        return False
    return True


def stored_forecasts(home: Path, day: str) -> dict[str, object]:
    """The forecasts stored for as-of `day`, for comparing two runs."""
    from market_predictor.store import FeatureStore

    predictions = FeatureStore(str(home / "store")).predictions.read()
    made = predictions[predictions["as_of_date"] == day].sort_values("symbol")
    return {
        "symbols": made["symbol"].tolist(),
        **{c: made[c].round(12).tolist() for c in ("predicted_close", "lower", "upper")},
    }


# -- the runner ---------------------------------------------------------------------------


def baseline_tree(ref: str | None) -> tuple[str, Path]:
    commit = (
        ref
        or subprocess.run(
            ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = WORK / f"baseline-{commit}"
    if not tree.exists():
        tree.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return commit, tree / "src"


def environment(
    base: dict[str, str], src: Path, home: Path, setup: dict[str, object]
) -> dict[str, str]:
    return base | {
        "PYTHONPATH": f"{src}{os.pathsep}{ROOT}",
        "MPP_HOME": str(home / "home"),
        "MPP_SOURCE": "parquet",
        "MPP_SOURCE_PATH": str(home / "prices.parquet"),
        "MPP_SYMBOLS": ",".join(setup["symbols"]),  # type: ignore[arg-type]
    }


def prepared(template: Path, command: list[str], env: dict[str, str], reuse: bool) -> Step:
    """The home `command` prepares in `template`; with `reuse`, the one a previous run of
    the same command left there (building 5,000 symbols takes minutes)."""
    saved = template / "setup.json"
    if reuse and saved.exists():
        return Step(0.0, 0.0, json.loads(saved.read_text()))
    shutil.rmtree(template, ignore_errors=True)
    template.mkdir(parents=True)
    setup = measure(command, env, f"prepare-{template.name}")
    saved.write_text(json.dumps(setup.output))
    return setup


def fresh_copy(template: Path, name: str) -> Path:
    target = WORK / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template, target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,5000")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--replay-symbols", type=int, default=500)
    parser.add_argument("--replay-days", type=int, default=252)
    parser.add_argument("--baseline-days", type=int, default=5)
    parser.add_argument("--baseline-ref", default=None)
    parser.add_argument(
        "--horizons",
        nargs="*",
        default=[],
        help="horizon sets to compare the daily job across, e.g. `1 1,5,21`",
    )
    parser.add_argument("--horizon-symbols", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the comparison")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the homes a previous run prepared"
    )
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    parser.add_argument("--symbols", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--history-end", help=argparse.SUPPRESS)
    parser.add_argument("--replay-until", help=argparse.SUPPRESS)
    parser.add_argument("--forecasts", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--compare", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        result = prepare(
            Path(args.prepare), args.symbols, args.years, args.history_end, args.replay_until
        )
        print(json.dumps(result))
        return
    if args.forecasts:
        print(json.dumps(stored_forecasts(Path(args.forecasts[0]), args.forecasts[1])))
        return
    if args.compare:
        first, second, until = args.compare
        print(json.dumps(same_tables(Path(first), Path(second), until)))
        return

    WORK.mkdir(parents=True, exist_ok=True)
    commit, baseline_src = baseline_tree(args.baseline_ref)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "MLFLOW_"))}
    ours = ROOT / "src"
    worker = [sys.executable, "-m", "bench.daily", "--years", str(args.years)]
    prep_env = base | {"PYTHONPATH": f"{ours}{os.pathsep}{ROOT}", "MPP_RIVALS": PREPARE_RIVALS}
    rows: list[tuple[int, Step, dict[str, tuple[Step, dict[str, object]]]]] = []
    # The replay first, then the sizes, smallest first; the report is rewritten after
    # each phase, so a run stopped early still leaves what it measured.
    replay = None
    if args.replay_days:
        replay = run_replay(args, worker, prep_env, base, ours, baseline_src)
        REPORT.write_text(render(args, commit, rows, replay))
    for n_symbols in [int(s) for s in args.sizes.split(",") if s]:
        template = WORK / f"n{n_symbols}"
        setup = prepared(
            template,
            [*worker, "--prepare", str(template), "--symbols", str(n_symbols)],
            prep_env,
            args.reuse,
        )
        day = str(setup.output["day"])
        runs = {}
        for label, src in (("ours", ours), ("baseline", baseline_src)):
            home = fresh_copy(template, f"run-{label}")
            env = environment(base, src, home, setup.output)
            daily = measure(
                [sys.executable, "-X", "importtime", MPP, "daily", "--as-of", day, "--json"],
                env,
                f"daily-{label}",
            )
            made = measure([*worker, "--forecasts", str(home / "home"), day], prep_env, "made")
            runs[label] = (daily, made.output)
            print(
                f"{n_symbols} symbols, {label}: daily {daily.seconds:.1f} s, "
                f"imports {daily.imports:.1f} s"
            )
        rows.append((n_symbols, setup, runs))
        REPORT.write_text(render(args, commit, rows, replay))
    horizons = []
    if args.horizons:
        horizons = run_horizons(
            args.horizons,
            args.horizon_symbols,
            args.repeats,
            worker=worker,
            prep_env=prep_env,
            base=base,
            ours=ours,
            reuse=args.reuse,
        )
    REPORT.write_text(
        render(args, commit, rows, replay)
        + "\n".join(render_horizons(horizons, args.horizon_symbols, args.repeats))
    )
    print(REPORT.read_text())


@dataclass
class Replay:
    symbols: int
    days: int
    ours: Step
    baseline: Step
    baseline_days: int
    identical: bool
    differing: list[str]
    champion: str


def run_replay(
    args: argparse.Namespace,
    worker: list[str],
    prep_env: dict[str, str],
    base: dict[str, str],
    ours: Path,
    baseline_src: Path,
) -> Replay:

    from bench.synthetic import trading_days

    end = dt.date(2013, 3, 1)
    days = trading_days(end - dt.timedelta(days=400), end)[-args.replay_days :]
    start = days[0].date()
    history_end = (start - dt.timedelta(days=1)).isoformat()
    template = WORK / f"replay{args.replay_symbols}"
    setup = prepared(
        template,
        [
            *worker,
            "--prepare",
            str(template),
            "--symbols",
            str(args.replay_symbols),
            "--history-end",
            history_end,
        ],
        prep_env,
        args.reuse,
    )
    results = {}
    for label, src, count in (
        ("ours", ours, args.replay_days),
        ("baseline", baseline_src, args.baseline_days),
    ):
        home = fresh_copy(template, f"replay-{label}")
        env = environment(base, src, home, setup.output)
        last = days[count - 1].date().isoformat()
        command = [MPP, "replay", "--start", start.isoformat(), "--end", last, "--no-retrain"]
        results[label] = (home, measure([*command, "--json"], env, f"replay-{label}"))
        print(f"replay {label}: {count} days in {results[label][1].seconds:.1f} s")
    # The baseline's days must have stored exactly what ours stored.
    compared = measure(
        [
            *worker,
            "--compare",
            str(results["ours"][0] / "home"),
            str(results["baseline"][0] / "home"),
            days[args.baseline_days - 1].date().isoformat(),
        ],
        prep_env,
        "compare",
    )
    differing = [name for name, same in compared.output.items() if not same]
    identical = bool(compared.output) and not differing
    return Replay(
        symbols=args.replay_symbols,
        days=args.replay_days,
        ours=results["ours"][1],
        baseline=results["baseline"][1],
        baseline_days=args.baseline_days,
        identical=identical,
        differing=differing,
        champion=str(setup.output["champion"]),
    )


def render(
    args: argparse.Namespace,
    commit: str,
    rows: list[tuple[int, Step, dict[str, tuple[Step, dict[str, object]]]]],
    replay: Replay | None,
) -> str:
    command = (
        f".venv/bin/python -m bench.daily --sizes {args.sizes} --years {args.years} "
        f"--replay-symbols {args.replay_symbols} --replay-days {args.replay_days} "
        f"--baseline-days {args.baseline_days}"
        + (
            f" --horizons {' '.join(args.horizons)} --repeats {args.repeats}"
            if args.horizons
            else ""
        )
    )
    lines = [
        "## Daily job and replay at scale",
        "",
        f"Command: `{command}` (baseline: commit `{commit}`, exported with `git archive`).",
        "",
        f"Synthetic universes of {args.years} years of NYSE trading days (`bench/synthetic.py`: "
        "each symbol a bootstrap of whole real daily bars of the sample's AAPL, IBM, MSFT "
        "and GOOG, with its own price level and volatility scale) in a local Parquet file. "
        f"The store holds every day but the last, loaded {LOAD_BATCH:,} symbols per ingest. "
        f"The champion is a network (an LSTM trained for {TRAIN_EPOCHS} epochs on "
        f"{TRAIN_SYMBOLS} of the symbols and promoted), so every symbol's forecast runs the "
        "network. The forecasts of the day before exist, so monitoring scores a realised "
        "error per symbol. Measured: one `mpp daily --as-of <last day>` process, with this "
        "code and with the baseline code, each on its own copy of the same home, under "
        "`python -X importtime`: work = the process's wall time minus the time its own "
        "imports took (the sum of every module's self time, lazy imports included). Peak "
        "memory: the process's max RSS.",
        "",
        f"Machine: {os.cpu_count()} cores (shared with other jobs), {platform.machine()}, "
        f"Python {platform.python_version()}.",
        "",
        "| symbols | rows stored | code | daily job, wall / CPU (s) | its imports, wall (s) "
        "| work beyond imports, wall (s) | steps ingest / predict / monitor / "
        "compact (s) | peak RSS (MB) | same forecasts | target (work, memory) |",
        "|---:|---:|---|---:|---:|---:|---|---:|---|---|",
    ]
    for n_symbols, setup, runs in rows:
        same = runs["ours"][1] == runs["baseline"][1] and bool(runs["ours"][1].get("symbols"))
        for label in ("baseline", "ours"):
            daily, _ = runs[label]
            seconds = daily.output.get("seconds", {})
            assert isinstance(seconds, dict)
            inside = " / ".join(
                f"{seconds.get(s, float('nan')):.2f}"
                for s in ("ingest", "predict", "monitor", "compact")
            )
            work = daily.seconds - daily.imports
            target = WORK_TARGETS.get(n_symbols)
            verdict = ""
            if label == "ours" and target is not None:
                met = work < target and (n_symbols < 5000 or daily.peak_mb < MEMORY_TARGET_MB)
                memory = f", < {MEMORY_TARGET_MB / 1024:.0f} GB" if n_symbols >= 5000 else ""
                verdict = f"< {target:g} s{memory}: {'met' if met else '**missed**'}"
            lines.append(
                f"| {n_symbols:,} | {int(setup.output['rows']):,} | {label} | "
                f"{daily.seconds:.1f} / {daily.cpu:.1f} | {daily.imports:.1f} | "
                f"{work:.1f} | {inside} | "
                f"{daily.peak_mb:.0f} | {'yes' if same else '**no**'} | {verdict} |"
            )
    if replay is None:
        return "\n".join([*lines, ""])
    lines += [
        "",
        f"Replay without retraining (`mpp replay --no-retrain`), {replay.symbols} symbols, "
        f"champion {replay.champion}, horizons of the default (1, 5, 21), online interval "
        "scale on. Steps: the seconds each step of the daily job took, summed over the "
        "days (the replay's own report; the baseline's has none).",
        "",
        "| code | trading days replayed | wall / CPU (s) | per day, wall (s) | steps ingest / "
        "predict / monitor / retrain / compact (s) | peak RSS (MB) | load average (1 min) "
        "| target |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for label, step, days in (
        ("baseline", replay.baseline, replay.baseline_days),
        ("ours", replay.ours, replay.days),
    ):
        year = step.seconds / days * YEAR_DAYS
        measured = days >= YEAR_DAYS
        goal = f"{YEAR_DAYS} days {'' if measured else '≈ '}{year:.0f} s"
        if not measured:
            goal += f" (per-day cost × {YEAR_DAYS})"
        if label == "ours":
            goal += f", < {REPLAY_TARGET_S:.0f} s: "
            goal += "met" if year < REPLAY_TARGET_S else "**missed**"
        lines.append(
            f"| {label} | {days} | {step.seconds:.1f} / {step.cpu:.1f} | "
            f"{step.seconds / days:.2f} | {replay_steps(step)} | {step.peak_mb:.0f} | "
            f"{step.load:.1f} | {goal} |"
        )
    lines += [
        "",
        f"The {replay.baseline_days} days both codes replayed left the same rows in the "
        "prices, predictions, errors, summary and interval-scale tables."
        if replay.identical
        else f"The {replay.baseline_days} days both codes replayed left **different** rows "
        f"in: {', '.join(replay.differing) or 'every table (the comparison failed)'}.",
        "",
    ]
    return "\n".join(lines)


def replay_steps(step: Step) -> str:
    days = step.output.get("days", [])
    assert isinstance(days, list)
    if not days or "seconds" not in days[0]:
        return "n/a"
    steps = ("ingest", "predict", "monitor", "retrain", "compact")
    return " / ".join(f"{sum(d['seconds'].get(s, 0.0) for d in days):.0f}" for s in steps)


if __name__ == "__main__":
    main()

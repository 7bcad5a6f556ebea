"""Accuracy benchmark: walk-forward over the last three years of the sample data, every
forecaster at every horizon, served as the daily job serves it.

Data: the real daily prices shipped with bokeh-sampledata (AAPL, MSFT, IBM, GOOG; the
sample ends 2013-03-01), ingested into a fresh embedded store with the `sample`
source. Walk-forward from 2010-03-01 to 2013-03-01 with the production defaults
(MPP_HORIZONS 1,5,21; every rival of MPP_RIVALS; the packaged training config),
refitting every 3 months on an expanding window (12 folds). Every forecaster is fitted
on the same rows (before each fold's last 6 months, which recalibrate its interval, as
`mpp train` does) and forecasts the same days; the online interval scale is then
applied to every one of them exactly as the daily job applies it (a reset at each
refit, each error used once its target close is known), so persistence gets the same
treatment as the network.

Run: `.venv/bin/python -m bench.accuracy --skip-reference` (writes
docs/benchmarks/accuracy.md). Fitting is the slow part; its static forecasts are kept
in bench/.work/accuracy/forecasts.parquet, and `--reuse` re-scores them without
refitting (e.g. after a change of the online rule only).
Options: `--start`, `--end`, `--retrain-every`, `--skip-reference`, `--reuse`, and
`--before PATH`: forecasts fitted by an earlier commit's code (run this module with
PYTHONPATH at that commit's `src`, from `git archive`, and `--forecasts PATH`), shown
beside these as that commit served them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pandas as pd

from market_predictor.training.config import DEFAULT_RETRAIN_EVERY

if TYPE_CHECKING:
    from market_predictor.backtest import Fold

SYMBOLS = ["AAPL", "MSFT", "IBM", "GOOG"]
START = dt.date(2010, 3, 1)
END = dt.date(2013, 3, 1)
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks" / "accuracy.md"
FORECASTS = ROOT / "bench" / ".work" / "accuracy" / "forecasts.parquet"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=START)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=END)
    parser.add_argument("--retrain-every", default=DEFAULT_RETRAIN_EVERY)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="re-score the kept forecasts")
    parser.add_argument("--forecasts", type=Path, default=FORECASTS)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="static forecasts fitted by an earlier commit's code (with --reuse's format), "
        "served with the undamped online step it shipped, to compare with",
    )
    args = parser.parse_args(argv)

    if args.reuse:
        static, meta = read_forecasts(args.forecasts)
    else:
        static, meta = fit_forecasts(args)
        write_forecasts(args.forecasts, static, meta)
    from bench import accuracy_report

    before = read_forecasts(args.before) if args.before is not None else None
    report = accuracy_report.render(static, meta, command=_command(args), before=before)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(report)
    return report


def _command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python -m bench.accuracy"]
    if args.start != START or args.end != END:
        parts.append(f"--start {args.start} --end {args.end}")
    if args.retrain_every != DEFAULT_RETRAIN_EVERY:
        parts.append(f"--retrain-every {args.retrain_every}")
    if args.skip_reference:
        parts.append("--skip-reference")
    if args.before is not None:
        parts.append(f"--before {args.before}")
    return " ".join(parts)


def fit_forecasts(args: argparse.Namespace) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every forecaster's static forecasts (before the online scale) with outcomes, and
    what produced them."""
    # The production defaults, whatever this shell has set (a test run pins horizons).
    for key in [key for key in os.environ if key.startswith("MPP_")]:
        del os.environ[key]
    load_before = os.getloadavg()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mpp-bench-accuracy-") as home:
        os.environ["MPP_HOME"] = home
        static, meta = _walk_forward(
            args.start, args.end, args.retrain_every, not args.skip_reference
        )
    meta |= {
        "seconds": time.perf_counter() - began,
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "commit": _commit(),
        "cpus": os.cpu_count(),
    }
    return static, meta


def _walk_forward(
    start: dt.date, end: dt.date, retrain_every: str, with_reference: bool
) -> tuple[pd.DataFrame, dict[str, Any]]:
    import torch

    from bench.reference_model import ReferenceForecaster
    from market_predictor.backtest import (
        baseline_factories,
        network_factory,
        parse_retrain_every,
        walk_forward,
        with_combined,
    )
    from market_predictor.config import get_settings
    from market_predictor.ingest import ingest_prices
    from market_predictor.training.gate import COMBINED
    from market_predictor.training.history import WalkForward, load_history, merged_config

    _single_threaded_torch(torch)
    get_settings.cache_clear()
    settings = get_settings()
    ingest_prices(settings, symbols=SYMBOLS, source="sample", end=end)
    config = merged_config(settings)
    history = load_history(
        settings,
        SYMBOLS,
        start,
        end,
        walk_forward=WalkForward(pd.DateOffset(years=3), config.window),
    )
    fit_seconds: dict[str, float] = defaultdict(float)
    # As `mpp backtest` builds them, plus the band before any recalibration.
    factories = {
        config.model: network_factory(config, settings.horizons),
        **baseline_factories(
            config.quantiles,
            config.validation_months,
            kinds=[kind for kind in settings.rivals if kind != COMBINED],
            horizons=settings.horizons,
            workers=settings.fit_workers,
        ),
        "persistence_uncalibrated": baseline_factories(
            config.quantiles, 0, ["persistence"], settings.horizons
        )["persistence"],
    }
    # The combined candidate as `mpp backtest` makes it: the fold's own network and rivals.
    factories = with_combined(
        factories, config.model, config.quantiles, config.validation_months, settings.horizons
    )
    if with_reference:
        factories["reference"] = lambda rows, fold: ReferenceForecaster(config.quantiles).fit(rows)
    timed = {name: _timed(name, factory, fit_seconds) for name, factory in factories.items()}
    result = walk_forward(
        history.prices,
        start=history.start,
        end=history.end,
        retrain_every=parse_retrain_every(retrain_every),
        factories=timed,
        quantiles=config.quantiles,
        progress=_announce,
        online_eta=0.0,  # the static forecasts: the report applies the online rule
    )
    meta = {
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "retrain_every": result.retrain_every,
        "folds": len(result.folds),
        "symbols": result.symbols,
        "forecasters": result.forecasters,
        "network": config.model,
        "horizons": list(settings.horizons),
        "quantiles": list(config.quantiles),
        "config": config.model_dump(mode="json"),
        "fit_seconds": dict(fit_seconds),
    }
    return result.forecasts, meta


def write_forecasts(path: Path, forecasts: pd.DataFrame, meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    forecasts.to_parquet(path, index=False)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1, default=str))


def read_forecasts(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    return pd.read_parquet(path), json.loads(path.with_suffix(".json").read_text())


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _single_threaded_torch(torch: ModuleType) -> None:
    """Pin torch to one thread, including inside `fit_forecaster` (which asks for two).

    The benchmark machine's 2 cores are shared with other jobs; with two intra-op threads
    on a busy machine, each small matmul waits for a descheduled sibling thread and
    fitting ran 5-8x slower than with one. One thread is the fair setting here.
    """
    torch.set_num_threads(1)
    torch.set_num_threads = lambda _threads: None


def _timed(
    name: str, factory: Callable, seconds: dict[str, float]
) -> Callable[[pd.DataFrame, object], object]:
    def fit(rows: pd.DataFrame, fold: object) -> object:
        began = time.perf_counter()
        forecaster = factory(rows, fold)
        seconds[name] += time.perf_counter() - began
        return forecaster

    return fit


def _announce(folds: list[Fold]) -> Iterator[Fold]:
    for index, fold in enumerate(folds, 1):
        print(f"fold {index}/{len(folds)}: {fold.start} .. {fold.end}", file=sys.stderr, flush=True)
        yield fold


if __name__ == "__main__":
    main()

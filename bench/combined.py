"""The combined candidate beside its parts: `mpp backtest` on the sample, per symbol.

A fresh home, `mpp ingest --source sample` (AAPL, MSFT, IBM, GOOG), then the walk-forward
`mpp backtest` runs (`market_predictor.backtest.backtest`, the shipped settings: every
horizon, every rival, the combined candidate, the online interval scale) from --start to
--end. Reported per symbol: the next-day pinball of every forecaster as a ratio to
persistence's (with the online scale, and without it), coverage, the interval backtests'
conditional-coverage p-values, and which rival each fold's combination took.

Run: `.venv/bin/python -m bench.combined` (writes docs/benchmarks/combined.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

START = dt.date(2012, 3, 1)
END = dt.date(2013, 3, 1)
OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "combined.md"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=dt.date.fromisoformat, default=START)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=END)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mpp-bench-combined-") as home:
        os.environ["MPP_HOME"] = home
        for name in ("MPP_TRAINING_CONFIG", "MPP_HORIZONS", "MPP_RIVALS"):
            os.environ.pop(name, None)
        report = run(args.start, args.end)
    args.output.write_text(report)
    print(report)
    return report


def run(start: dt.date, end: dt.date) -> str:
    import market_predictor.training.fit as fit
    from market_predictor.backtest import backtest
    from market_predictor.config import get_settings
    from market_predictor.ingest import ingest_prices

    get_settings.cache_clear()
    settings = get_settings()
    ingest_prices(settings, source="sample")
    partners: list[tuple[dt.date, str]] = []
    combine = fit.fit_combined

    def recording(*args: Any, **kwargs: Any) -> Any:
        combined = combine(*args, **kwargs)
        partners.append((args[4], next(c for c in combined.components if c != "model")))
        return combined

    fit.fit_combined = recording  # type: ignore[assignment]
    load_before = _load()
    began = time.perf_counter()
    result = backtest(settings, start=start, end=end)
    elapsed = time.perf_counter() - began
    return render(result, partners, elapsed, load_before, _load())


def render(
    result: Any, partners: list[tuple[dt.date, str]], elapsed: float, before: str, after: str
) -> str:
    report = result.report()
    static = static_pinball(result)
    names = report.forecasters
    symbols = [*report.symbols, "ALL"]
    metrics = report.metrics
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    lines = [
        "## The combined candidate beside its parts",
        "",
        f"`mpp backtest --start {report.start} --end {report.end}` on a fresh home after "
        "`mpp ingest --source sample` (`.venv/bin/python -m bench.combined`), commit "
        f"{commit}: the shipped settings (horizons {', '.join(map(str, get_horizons()))}, "
        f"every rival, the online interval scale), refit every {report.retrain_every} "
        f"({len(report.folds)} folds), the network's default config. "
        f"{elapsed:.0f} s wall; load average {before} before, {after} after (2 shared cores).",
        "",
        "Each fold's combination (rule: `models/combined.py`) averaged the network with: "
        + ", ".join(f"{day} {name}" for day, name in partners)
        + ".",
        "",
        "### Next-day pinball as a ratio to persistence's (with the online scale)",
        "",
        *_table(metrics, names, symbols, lambda m, p: m.pinball / p.pinball, "{:.4f}"),
        "",
        "### The same without the online scale (the models' own interval)",
        "",
        "| Symbol | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        *[
            f"| {symbol} | "
            + " | ".join(
                f"{static[name][symbol] / static['persistence'][symbol]:.4f}" for name in names
            )
            + " |"
            for symbol in symbols
        ],
        "",
        "### Next-day pinball (price units, with the online scale)",
        "",
        *_table(metrics, names, symbols, lambda m, p: m.pinball, "{:.5f}"),
        "",
        "### Coverage of the 10%-90% interval (with the online scale)",
        "",
        *_table(metrics, names, symbols, lambda m, p: m.coverage, "{:.3f}"),
        "",
        "### Interval conditional-coverage p-value (Christoffersen; * rejected at 5%)",
        "",
        "| Symbol | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for symbol in symbols:
        cells = []
        for name in names:
            test = report.interval_tests[name][symbol].interval.conditional_coverage
            cells.append(f"{test.p_value:.3f}{'*' if test.rejected else ''}")
        lines.append(f"| {symbol} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _table(metrics: Any, names: list[str], symbols: list[str], value: Any, fmt: str) -> list[str]:
    rows = ["| Symbol | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for symbol in symbols:
        naive = metrics["persistence"][symbol]
        cells = [fmt.format(value(metrics[name][symbol], naive)) for name in names]
        rows.append(f"| {symbol} | " + " | ".join(cells) + " |")
    return rows


def static_pinball(result: Any) -> dict[str, dict[str, float]]:
    """Each forecaster's next-day pinball per symbol (and ALL) of the interval it made
    before the online scale (the forecasts' lower_static and upper_static)."""
    from market_predictor.evaluation import metrics_table

    rows = result.forecasts[result.forecasts["horizon"] == 1]
    pinballs: dict[str, dict[str, float]] = {}
    for name, mine in rows.groupby("forecaster"):
        unscaled = mine.assign(lower=mine["lower_static"], upper=mine["upper_static"])
        table = metrics_table(unscaled, quantiles=result.quantiles)
        pinballs[str(name)] = dict(zip(table["symbol"], table["pinball"], strict=True))
    return pinballs


def get_horizons() -> tuple[int, ...]:
    from market_predictor.config import get_settings

    return get_settings().horizons


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main(sys.argv[1:])

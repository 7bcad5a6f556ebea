"""Regime benchmark: does the served interval recover its coverage after the volatility
halves and then triples, on the production path?

Series: the sample's real daily bars (AAPL, MSFT, IBM, GOOG on the days all four trade,
2004-08 .. 2013-03), resampled by a stationary block bootstrap (mean block 20 days, the
same days for every symbol, so volatility clusters and co-moves as it did), each symbol
renamed (R1..R4) and given its own volatility scale (0.6-1.4x). Each path holds
TRAIN_YEARS of history and a replayed stretch of REPLAY_DAYS; in the `regime` case the
bars' moves relative to the previous close (close, open, high, low) are multiplied by
0.5 from replay day FIRST_CHANGE on (volatility halves) and by 1.5 from SECOND_CHANGE
on (it triples from the halved level). The `no change` case is the same path without
the changes: every flagged day there is a false alarm.

Each case runs the production path with the production defaults (horizons 1/5/21,
every rival, online scale on) through bench.unseen's machinery: `mpp ingest` from a
csv, `mpp train` on the history, `mpp replay` over the stretch with retraining on.
The served forecasts and their realised errors are then read from the home's store.

Run: `.venv/bin/python -m bench.regime [--seeds 2] [--max-epochs 5]` (writes
docs/benchmarks/regime.md).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks" / "regime.md"
TRAIN_YEARS = 4
FIRST_CHANGE, SECOND_CHANGE, REPLAY_DAYS = 60, 130, 200
FACTORS = (0.5, 3.0)  # each change multiplies the volatility before it
WINDOW = 60  # rolling coverage window, realised forecasts
RECOVERY_DAYS = 30
BAND = (0.75, 0.85)
LAST_DAY = "2019-12-31"


def volatility_profile(length: int, changes: bool) -> np.ndarray:
    """Per row of a path, the factor its moves are multiplied by."""
    profile = np.ones(length)
    if changes:
        start = length - REPLAY_DAYS
        profile[start + FIRST_CHANGE :] *= FACTORS[0]
        profile[start + SECOND_CHANGE :] *= FACTORS[1]
    return profile


def path(seed: int, changes: bool) -> pd.DataFrame:
    """One path's daily bars on NYSE days ending LAST_DAY."""
    from bench.monitoring import path_prices, relative_bars, stationary_indices
    from bench.synthetic import trading_days
    from market_predictor.sources.sample import load_sample_prices

    end = pd.Timestamp(LAST_DAY)
    start = end - pd.DateOffset(years=TRAIN_YEARS) - pd.DateOffset(months=14)
    days = trading_days(start.date(), end.date())
    _, source = relative_bars(load_sample_prices())
    rng = np.random.default_rng(seed)
    indices = stationary_indices(len(next(iter(source.values()))), len(days), rng)
    scales = rng.uniform(0.6, 1.4, len(source))
    renamed = {
        f"R{k + 1}": np.column_stack([bars[:, :4] * scale, bars[:, 4]])
        for k, (bars, scale) in enumerate(zip(source.values(), scales, strict=True))
    }
    prices = path_prices(renamed, indices, volatility=volatility_profile(len(days), changes))
    prices["date"] = np.tile(days.date, len(renamed))
    return prices


def served_errors(home: Path) -> pd.DataFrame:
    """Every served forecast's realised error in a replayed home (the newest version's
    when a retrain day holds two)."""
    from market_predictor.config import Settings
    from market_predictor.store import FeatureStore
    from market_predictor.store.errors import served

    store = FeatureStore.from_settings(Settings(home=home))
    return served(store.errors.read_rows())


def rolling_coverage(errors: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Per symbol and target date, the coverage of the last WINDOW realised forecasts;
    a column per symbol and `pooled` (the symbols' mean)."""
    rows = errors[errors["horizon"] == horizon]
    wide = rows.pivot_table(
        index="target_date", columns="symbol", values="inside_interval", aggfunc="mean"
    ).sort_index()
    rolling = wide.astype("float64").rolling(WINDOW, min_periods=WINDOW).mean()
    rolling["pooled"] = rolling.mean(axis=1)
    return rolling


def recovery(rolling: pd.Series, change: pd.Timestamp) -> dict[str, Any]:
    """After a change: the coverage on day +RECOVERY_DAYS, whether the rolling coverage
    left the band, and how many days after the change it was back inside to stay until
    the next RECOVERY_DAYS days are over (None: not by then)."""
    after = rolling.loc[rolling.index >= change].dropna()
    low, high = BAND
    inside = (after >= low) & (after <= high)
    left = not bool(inside.iloc[:RECOVERY_DAYS].all())
    back = None
    for k in range(len(after)):
        if inside.iloc[k:].iloc[: RECOVERY_DAYS + 1].all() and k <= len(after) - 1:
            back = k
            break
    at = after.iloc[RECOVERY_DAYS] if len(after) > RECOVERY_DAYS else float("nan")
    return {
        "at_recovery": float(at),
        "left_band": left,
        "back_after": back,
        "low": float(after.iloc[: 2 * WINDOW].min()),
        "high": float(after.iloc[: 2 * WINDOW].max()),
    }


def run(seed: int, changes: bool, max_epochs: int) -> dict[str, Any]:
    from bench.unseen import WORK, run_case, summarise

    name = f"{'regime' if changes else 'plain'}-{seed}"
    prices = path(seed, changes)
    began = time.perf_counter()
    symbols = ",".join(sorted(prices["symbol"].unique()))
    replay = run_case(name, prices, REPLAY_DAYS, max_epochs, symbols=symbols)
    days = sorted(pd.to_datetime(prices["date"]).unique())[-REPLAY_DAYS:]
    errors = served_errors(WORK / name / "home")
    out: dict[str, Any] = {
        "seed": seed,
        "changes": changes,
        "summary": summarise(replay, break_at=None),
        "seconds": time.perf_counter() - began,
        "days": [pd.Timestamp(d) for d in days],
        "coverage": {h: rolling_coverage(errors, h) for h in sorted(errors["horizon"].unique())},
        "overall": errors.groupby("horizon")["inside_interval"].mean().to_dict(),
    }
    if changes:
        out["changes_at"] = [pd.Timestamp(days[FIRST_CHANGE]), pd.Timestamp(days[SECOND_CHANGE])]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    began = time.perf_counter()
    results = []
    for seed in range(args.seeds):
        for changes in (True, False):
            results.append(run(seed, changes, args.max_epochs))
            print(f"seed {seed} changes {changes}: {results[-1]['seconds']:.0f} s", flush=True)
    report = render(results, args, load_before, time.perf_counter() - began)
    args.output.write_text(report)
    print(report)


def render(
    results: list[dict[str, Any]],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    seconds: float,
) -> str:
    low, high = BAND
    lines = [
        "## Regime benchmark: the served interval through a volatility halving and tripling",
        "",
        (__doc__ or "").split("\n\n", 1)[1].split("Run:")[0].strip(),
        "",
        f"Command: `.venv/bin/python -m bench.regime --seeds {args.seeds} --max-epochs "
        f"{args.max_epochs}`: {seconds / 60:.0f} min on {os.cpu_count()} shared cores "
        f"(load average {' / '.join(f'{v:.1f}' for v in load_before)} before, "
        f"{' / '.join(f'{v:.1f}' for v in os.getloadavg())} after).",
        "",
        f"Target (issue 19): the rolling {WINDOW}-day coverage of the served 80% interval "
        f"back inside {low:.2f}-{high:.2f} within {RECOVERY_DAYS} trading days of each "
        "change. A perfectly calibrated interval's rolling coverage has a binomial sd of "
        f"{np.sqrt(0.16 / WINDOW):.3f} over {WINDOW} independent days, so one symbol's "
        f"coverage sits outside {low:.2f}-{high:.2f} on about a third of days by chance "
        f"alone; the symbols' mean ({len(results[0]['coverage'][1].columns) - 1} symbols) "
        "is the steadier reading.",
        "",
        "### Recovery after each change (next-day forecasts)",
        "",
        f"Per change: rolling coverage on day +{RECOVERY_DAYS}; whether it left the band in "
        f"the first {RECOVERY_DAYS} days; the first day after which it stays inside for "
        f"{RECOVERY_DAYS} days (`-`: not in the replay); its range over the "
        f"{2 * WINDOW} days after the change.",
        "",
        "| Seed | Change | Series | Coverage at +30 | Left the band | Back inside (day) "
        "| Range after |",
        "|---:|---|---|---:|---|---:|---|",
    ]
    for result in results:
        if not result["changes"]:
            continue
        rolling = result["coverage"][1]
        for change, label in zip(result["changes_at"], ("halved", "tripled"), strict=True):
            for column in rolling.columns:
                r = recovery(rolling[column], change)
                back = "-" if r["back_after"] is None else str(r["back_after"])
                met = r["back_after"] is not None and r["back_after"] <= RECOVERY_DAYS
                lines.append(
                    f"| {result['seed']} | {label} ({change.date()}) | {column} "
                    f"| {r['at_recovery']:.3f} | {'yes' if r['left_band'] else 'no'} "
                    f"| {back}{' (met)' if met else ''} | {r['low']:.3f}-{r['high']:.3f} |"
                )
    lines += [
        "",
        "### Coverage over the whole replay and retrain alarms",
        "",
        "| Seed | Case | Coverage h=1 / 5 / 21 | Days flagged | Tests that fired "
        "(symbol-days) | Retrains: triggered / scheduled | First champion | Replay |",
        "|---:|---|---|---:|---|---:|---|---:|",
    ]
    for result in results:
        s = result["summary"]
        fired = ", ".join(f"{k} {v}" for k, v in sorted(s["tests"].items())) or "-"
        overall = " / ".join(f"{result['overall'].get(h, float('nan')):.3f}" for h in (1, 5, 21))
        lines.append(
            f"| {result['seed']} | {'regime' if result['changes'] else 'no change'} "
            f"| {overall} | {s['flagged_days']} ({s['flagged_days'] / s['days']:.1%}) "
            f"| {fired} | {s['triggered']} / {s['scheduled']} | {s['first_champion']} "
            f"| {s['seconds']:.0f} s |"
        )
    lines += ["", "### Rolling coverage, pooled over symbols, every 10th replayed day", ""]
    for result in results:
        case = "regime" if result["changes"] else "no change"
        lines.append(f"Seed {result['seed']}, {case}:")
        lines.append("")
        lines.append("| Day | " + " | ".join(f"h={h}" for h in result["coverage"]) + " |")
        lines.append("|---:|" + "---:|" * len(result["coverage"]))
        for k in range(0, REPLAY_DAYS, 10):
            day = result["days"][k]
            cells = []
            for rolling in result["coverage"].values():
                value = rolling["pooled"].get(day, float("nan"))
                cells.append("-" if pd.isna(value) else f"{value:.3f}")
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

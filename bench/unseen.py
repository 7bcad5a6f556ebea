"""Retrain triggers on series the project has never seen: the production path
(`mpp ingest`, `mpp train`, `mpp replay` with retraining on) over simulated prices that
share nothing with the sample, with and without a break.

Run: .venv/bin/python -m bench.unseen [--seed 2026] [--replay-days 126] [--max-epochs 5]

Series: GARCH(1,1) with Student-t(5) shocks, 2012-2022 on NYSE days, one parameter set
per symbol so none looks like the sample: STK a volatile stock (about 3% a day, volume
noisy around 5 M), IDX a calm index without volume (about 0.8% a day, volume 0 as Yahoo
reports for many indices), MID in between (about 1.5% a day). Intraday excursions and
overnight gaps are drawn independently of the close. Cases:

- **no change**: the simulation as drawn. Every flagged day is a false alarm; the only
  retrains expected are scheduled ones (every MPP_MAX_MODEL_AGE_DAYS trading days);
- **mean shift**: from day 40 of the replay, every symbol's daily log return gains half
  its own standard deviation (about +10% a month for a 1%-a-day stock), a trend no
  training day had.

The champion is trained on everything before the replay (`--max-epochs`), so the gate
decides between the network, GARCH, drift and persistence as in production.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "unseen"
REPORT = ROOT / "docs" / "benchmarks" / "unseen.md"
MPP = str(Path(sys.executable).with_name("mpp"))
FIRST_DAY, LAST_DAY = "2012-01-03", "2022-12-30"
BREAK_DAY = 40  # of the replay
# symbol: (unconditional daily sd in %, ARCH a, GARCH b, median volume; 0: no volume)
SERIES = {
    "STK": (3.0, 0.08, 0.90, 5e6),
    "IDX": (0.8, 0.10, 0.88, 0.0),
    "MID": (1.5, 0.05, 0.93, 2e6),
}


def simulate(seed: int, shift_from: pd.Timestamp | None) -> pd.DataFrame:
    """Daily bars of every SERIES symbol; from `shift_from` on, each log return gains
    half the symbol's unconditional daily standard deviation."""
    from bench.synthetic import trading_days

    days = trading_days(pd.Timestamp(FIRST_DAY).date(), pd.Timestamp(LAST_DAY).date())
    rng = np.random.default_rng(seed)
    frames = []
    for symbol, (sd, arch, garch, volume) in SERIES.items():
        n = len(days)
        shocks = rng.standard_t(5, n) / np.sqrt(5 / 3)  # unit variance
        omega = (sd / 100) ** 2 * (1 - arch - garch)
        variance, returns = (sd / 100) ** 2, np.empty(n)
        for t in range(n):
            returns[t] = np.sqrt(variance) * shocks[t]
            variance = omega + arch * returns[t] ** 2 + garch * variance
        if shift_from is not None:
            returns[days >= shift_from] += 0.5 * sd / 100
        frames.append(bars(symbol, days, returns, sd, volume, rng))
    return pd.concat(frames, ignore_index=True)


def bars(
    symbol: str,
    days: pd.DatetimeIndex,
    returns: np.ndarray,
    sd: float,
    volume: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Daily bars closing on `returns` (log, from 50): opens and intraday excursions
    drawn independently of the close at a scale of the daily sd (in %), volume noisy
    around `volume` (0: none, as Yahoo reports for many indices)."""
    n = len(days)
    close = 50 * np.exp(np.cumsum(returns))
    previous = np.concatenate([[50.0], close[:-1]])
    opens = previous * np.exp(rng.normal(0, sd / 400, n))
    wick = np.abs(rng.normal(0, sd / 200, (2, n)))
    return pd.DataFrame(
        {
            "symbol": symbol,
            "date": days.date,
            "open": opens,
            "high": np.maximum(opens, close) * np.exp(wick[0]),
            "low": np.minimum(opens, close) * np.exp(-wick[1]),
            "close": close,
            "volume": np.round(volume * np.exp(rng.normal(0, 0.3, n))) if volume else 0.0,
        }
    )


def run_case(
    name: str,
    prices: pd.DataFrame,
    replay_days: int,
    max_epochs: int,
    symbols: str = ",".join(SERIES),
) -> dict[str, Any]:
    """Ingest, train before the replay, replay with retraining on; the replay's report."""
    case = WORK / name
    home = case / "home"
    if case.exists():
        subprocess.run(["rm", "-rf", str(case)], check=True)
    case.mkdir(parents=True)
    source = case / "prices.csv"
    prices.to_csv(source, index=False)
    days = sorted(pd.to_datetime(prices["date"]).unique())
    start, end = days[-replay_days], days[-1]
    train_end = days[-replay_days - 1]
    # This process's environment (PYTHONPATH included) without any MPP_ setting of its own.
    env = {key: value for key, value in os.environ.items() if not key.startswith("MPP_")}
    env |= {
        "MPP_HOME": str(home),
        "MPP_SOURCE": "csv",
        "MPP_SOURCE_PATH": str(source),
        "MPP_SYMBOLS": symbols,
    }
    day = "%Y-%m-%d"
    _mpp(["ingest", "--end", train_end.strftime(day)], env)
    trained = _mpp(
        ["train", "--end", train_end.strftime(day), "--max-epochs", str(max_epochs), "--json"],
        env,
    )
    began = time.perf_counter()
    window = ["--start", start.strftime(day), "--end", end.strftime(day)]
    replay = _mpp(["replay", *window, "--max-epochs", str(max_epochs), "--json"], env)
    replay["seconds"] = time.perf_counter() - began
    replay["trained"] = trained
    return replay


def _mpp(arguments: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [MPP, *arguments], env=env, capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"mpp {' '.join(arguments)} failed:\n{done.stderr[-2000:]}\n{done.stdout[-2000:]}"
        )
    return json.loads(done.stdout) if "--json" in arguments else {}


def champion_kind(trained: dict[str, Any]) -> str:
    """What the first training's gate made champion: the network, a volatility rival or
    persistence."""
    champion = trained.get("champion_version")
    rivals = {str(v): kind for kind, v in (trained.get("rival_versions") or {}).items()}
    if champion == trained.get("garch_version"):
        return "GARCH(1,1)-t"
    if champion in rivals:
        return rivals[champion]
    if champion == trained.get("baseline_version"):
        return "persistence"
    return f"the {trained.get('network', 'network')} network"


def summarise(replay: dict[str, Any], break_at: int | None) -> dict[str, Any]:
    days = replay["days"]
    flagged = [i for i, day in enumerate(days) if day["retrain_recommended"]]
    tests: Counter[str] = Counter()
    for day in days:
        for reason in (day.get("reasons") or {}).values():
            for part in str(reason).split("; "):
                if ": " in part and not part.startswith("champion"):
                    tests[part.split(": ", 1)[0]] += 1
    kinds = Counter(day["retrain_trigger"] for day in days if day["retrain"] == "trained")
    out = {
        "days": len(days),
        "flagged_days": len(flagged),
        "tests": dict(tests),
        "triggered": kinds.get("triggered", 0),
        "scheduled": kinds.get("scheduled", 0),
        "champions": sorted({str(day["champion_version"]) for day in days}),
        "seconds": replay["seconds"],
        "first_champion": champion_kind(replay["trained"]),
    }
    if break_at is not None:
        before = [i for i in flagged if i < break_at]
        after = [i - break_at for i in flagged if i >= break_at]
        out["flagged_before_break"] = len(before)
        out["first_flag_after_break"] = after[0] if after else None
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--replay-days", type=int, default=126)
    parser.add_argument("--max-epochs", type=int, default=5)
    args = parser.parse_args(argv)

    plain = simulate(args.seed, None)
    days = sorted(pd.to_datetime(plain["date"]).unique())
    break_day = pd.Timestamp(days[-args.replay_days + BREAK_DAY])
    results = {
        "no change": summarise(
            run_case("plain", plain, args.replay_days, args.max_epochs), break_at=None
        ),
        "mean shift": summarise(
            run_case("shift", simulate(args.seed, break_day), args.replay_days, args.max_epochs),
            break_at=BREAK_DAY,
        ),
    }
    REPORT.write_text(render(results, args, break_day))
    print(REPORT.read_text())


def render(results: dict[str, dict[str, Any]], args: argparse.Namespace, break_day: Any) -> str:
    lines = [
        "## Retrain triggers on unseen series",
        "",
        (__doc__ or "").split("Run:")[1].split("\n\n", 1)[1].strip(),
        "",
        f"Command: `.venv/bin/python -m bench.unseen --seed {args.seed} --replay-days "
        f"{args.replay_days} --max-epochs {args.max_epochs}`. The mean shift starts on "
        f"{pd.Timestamp(break_day).date()} (replay day {BREAK_DAY}).",
        "",
        "| Case | Replayed days | Days flagged | Tests that fired (symbol-days) | Retrains: "
        "triggered / scheduled | Champion versions served | First flag after the break "
        "| Replay time |",
        "|---|---:|---:|---|---:|---|---:|---:|",
    ]
    for case, r in results.items():
        fired = ", ".join(f"{name} {count}" for name, count in sorted(r["tests"].items())) or "-"
        first = r.get("first_flag_after_break", "-")
        first = "never" if first is None else first
        lines.append(
            f"| {case} | {r['days']} | {r['flagged_days']} ({r['flagged_days'] / r['days']:.1%}) "
            f"| {fired} | {r['triggered']} / {r['scheduled']} | {', '.join(r['champions'])} "
            f"| {first} | {r['seconds']:.0f} s |"
        )
    lines.append("")
    lines += [
        f"- {case}: the first training's gate made {r['first_champion']} champion."
        for case, r in results.items()
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

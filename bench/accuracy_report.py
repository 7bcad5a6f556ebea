"""The accuracy benchmark's report: every forecaster served as the daily job serves it,
scored per symbol and horizon, and each issue-19/22 target judged with its uncertainty.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from bench import accuracy_stats as stats
from market_predictor.config import Settings
from market_predictor.online_calibration import OnlineRule, simulate

PERSISTENCE = "persistence"
# The forecasters issue 19 names "volatility rivals" (when the run has them).
VOLATILITY = ("garch", "gjr_garch", "egarch", "har")
COVERAGE_BAND = (0.78, 0.82)
HALF_YEAR_BAND = (0.76, 0.84)
PINBALL_MARGIN = 0.03  # issue 19: at least 3% below persistence
LEVEL = 0.05


def served(static: pd.DataFrame, quantiles: Iterable[float]) -> pd.DataFrame:
    """The forecasts as the daily job serves them: the online scale of the production
    settings, reset at each refit, for every forecaster alike."""
    rule = OnlineRule.for_quantiles(tuple(quantiles), Settings().online_eta)
    return simulate(static.drop(columns=["lower_static", "upper_static"], errors="ignore"), rule)


def score_table(forecasts: pd.DataFrame) -> pd.DataFrame:
    """One row per forecaster, horizon and symbol (and "ALL"): n, MASE, pinball (served
    and static), coverage (served and static), interval score."""
    records = []
    for (name, horizon), rows in forecasts.groupby(["forecaster", "horizon"], sort=False):
        groups = [*rows.groupby("symbol", sort=True), ("ALL", rows)]
        for symbol, mine in groups:
            last = mine["last_close"].to_numpy(dtype="float64")
            actual = mine["actual_close"].to_numpy(dtype="float64")
            median = mine["predicted_close"].to_numpy(dtype="float64")
            records.append(
                {
                    "forecaster": name,
                    "horizon": int(horizon),
                    "symbol": symbol,
                    "n": len(mine),
                    "mase": np.abs(median - actual).mean() / np.abs(last - actual).mean(),
                    "pinball": stats.row_pinball(mine).mean(),
                    "pinball_static": stats.row_pinball(mine, static=True).mean(),
                    "coverage": stats.row_inside(mine).mean(),
                    "coverage_static": stats.row_inside(mine, static=True).mean(),
                    "interval_score": stats.row_interval_score(mine).mean(),
                }
            )
    table = pd.DataFrame.from_records(records)
    persistence = table[table["forecaster"] == PERSISTENCE].set_index(["horizon", "symbol"])
    keys = pd.MultiIndex.from_frame(table[["horizon", "symbol"]])
    table["vs_persistence"] = table["pinball"].to_numpy() / persistence["pinball"].reindex(
        keys
    ).to_numpy(dtype="float64")
    table["vs_persistence_static"] = table["pinball"].to_numpy() / persistence[
        "pinball_static"
    ].reindex(keys).to_numpy(dtype="float64")
    return table


def render(static: pd.DataFrame, meta: dict[str, Any], command: str) -> str:
    forecasts = served(static, meta["quantiles"])
    table = score_table(forecasts)
    network = meta["network"]
    names = [n for n in meta["forecasters"] if n in set(forecasts["forecaster"])]
    symbols, horizons = meta["symbols"], meta["horizons"]
    eta = Settings().online_eta
    lines = [
        "## Accuracy: walk-forward on the sample data, every horizon, as served",
        "",
        f"Walk-forward {meta['start']} .. {meta['end']} over {', '.join(symbols)} (real daily "
        "prices from bokeh-sampledata, ingested with the `sample` source), refit every "
        f"{meta['retrain_every']} on an expanding window ({meta['folds']} folds), horizons "
        f"{', '.join(map(str, horizons))} trading days. Each forecast uses only rows up to its "
        "as-of date and is scored against the stored close h rows later; every forecaster is "
        "fitted and scored on the same rows, so MASE is relative to persistence on exactly "
        "those forecasts.",
        "",
        f"- **{network}**: the packaged training config (window {meta['config']['window']}, "
        f"hidden {meta['config']['hidden_size']}, max {meta['config']['max_epochs']} epochs, "
        f"early stopping on the last {meta['config']['validation_months']} months before "
        "each fold), one quantile head per horizon.",
        "- **persistence**: the close h days ahead = today's, band = 21-day volatility x "
        "sqrt(h) x the empirical quantiles of volatility-scaled h-day returns.",
        "- **drift**: persistence moved h times by the symbol's mean daily log return.",
        "- **garch, gjr_garch, egarch**: GARCH(1,1), GJR-GARCH(1,1) and EGARCH(1,1) with "
        "Student-t errors (`arch`), **har**: log-HAR on a range-based variance; each fitted "
        "per symbol, quantiles by filtered historical simulation of its h-day variance.",
        "- Every forecaster above is fitted before its fold's last "
        f"{meta['config']['validation_months']} months and its interval recalibrated on them "
        "(market_predictor.models.calibration), as `mpp train` does; "
        "**persistence_uncalibrated** is persistence fitted on every row, without it.",
        f"- **As served**: every forecaster's interval then gets the online scale "
        f"(market_predictor.online_calibration, eta {eta:g} at the production settings), "
        "reset at each refit and fed each realised error only once its target close is "
        "known, exactly as the daily job applies it (the `static` columns are without it).",
        "",
        f"Command: `{command}`. Fitted at commit {meta['commit']} in "
        f"{meta['seconds'] / 60:.1f} min on {meta['cpus']} shared cores (load average "
        f"{_load(meta['load_before'])} before, {_load(meta['load_after'])} after); fitting "
        "time over all folds: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in meta["fit_seconds"].items())
        + ".",
        "",
    ]
    lines += _targets(forecasts, table, network, names, symbols, horizons)
    for horizon in horizons:
        lines += _horizon_table(table, names, symbols, horizon)
    lines += _median_section(forecasts, network, names, symbols, horizons)
    lines += _var_section(forecasts, names, symbols, horizons)
    lines += _half_year_section(forecasts, names, symbols, horizons)
    return "\n".join(lines) + "\n"


def _load(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _cell(table: pd.DataFrame, name: str, horizon: int, symbol: str, key: str) -> float:
    row = table[
        (table["forecaster"] == name) & (table["horizon"] == horizon) & (table["symbol"] == symbol)
    ]
    return float(row.iloc[0][key]) if not row.empty else math.nan


def _rows(forecasts: pd.DataFrame, name: str, horizon: int, symbol: str) -> pd.DataFrame:
    mine = forecasts[
        (forecasts["forecaster"] == name)
        & (forecasts["horizon"] == horizon)
        & (forecasts["symbol"] == symbol)
    ]
    return mine.sort_values("as_of_date")


def _paired(
    forecasts: pd.DataFrame, name: str, rival: str, horizon: int, symbol: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    mine, theirs = (_rows(forecasts, n, horizon, symbol) for n in (name, rival))
    days = sorted(set(mine["as_of_date"]) & set(theirs["as_of_date"]))
    return (
        mine.set_index("as_of_date").loc[days].reset_index(),
        theirs.set_index("as_of_date").loc[days].reset_index(),
    )


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


# -- targets -------------------------------------------------------------------------------


def _targets(
    forecasts: pd.DataFrame,
    table: pd.DataFrame,
    network: str,
    names: list[str],
    symbols: list[str],
    horizons: list[int],
) -> list[str]:
    rivals = [n for n in VOLATILITY if n in names]
    lines = ["### Targets (issues 19 and 22), for the served network", ""]

    # Issue 19: pinball >= 3% below persistence at every symbol (the next day).
    for horizon in horizons:
        ratios = {s: _cell(table, network, horizon, s, "vs_persistence") for s in symbols}
        intervals = {}
        for seed, symbol in enumerate(symbols):
            mine, theirs = _paired(forecasts, network, PERSISTENCE, horizon, symbol)
            intervals[symbol] = stats.ratio_interval(
                stats.row_pinball(mine),
                stats.row_pinball(theirs),
                stats.block_length(horizon),
                seed,
            )
        best = min(
            names, key=lambda n: _cell(table, n, horizon, "ALL", "vs_persistence") or math.inf
        )
        text = ", ".join(
            f"{s} {r:.4f} (95% {intervals[s][0]:.3f}-{intervals[s][1]:.3f})"
            for s, r in ratios.items()
        )
        if horizon == horizons[0]:
            goal = f"at least {PINBALL_MARGIN:.0%} below persistence's (ratio <= 0.97)"
            met = all(r <= 1 - PINBALL_MARGIN for r in ratios.values())
            lines.append(
                f"- Issue 19, h={horizon}: pinball {goal} on every symbol: {_verdict(met)}: "
                f"{text}; all symbols {_cell(table, network, horizon, 'ALL', 'vs_persistence'):.4f}."
                f" Best forecaster here: {best} "
                f"({_cell(table, best, horizon, 'ALL', 'vs_persistence'):.4f})."
            )
        met = all(r < 1 for r in ratios.values())
        lines.append(
            f"- Issue 22, h={horizon}: pinball below persistence's on every symbol: "
            f"{_verdict(met)}: {text}. Best forecaster: {best} "
            f"({_cell(table, best, horizon, 'ALL', 'vs_persistence'):.4f})."
        )
    # Issue 19: below every volatility rival.
    for horizon in horizons:
        worst = {
            s: min(rivals, key=lambda r, s=s: _cell(table, r, horizon, s, "pinball"))
            for s in symbols
        }
        gaps = {
            s: _cell(table, network, horizon, s, "pinball")
            / _cell(table, worst[s], horizon, s, "pinball")
            for s in symbols
        }
        met = all(g < 1 for g in gaps.values())
        lines.append(
            f"- Issue 19, h={horizon}: pinball below every volatility rival on every symbol: "
            f"{_verdict(met)} (network / best rival: "
            + ", ".join(f"{s} {g:.4f} vs {worst[s]}" for s, g in gaps.items())
            + ")."
        )
    # Coverage per symbol and horizon, with what a perfect forecaster would show.
    low, high = COVERAGE_BAND
    for horizon in horizons:
        coverage = {s: _cell(table, network, horizon, s, "coverage") for s in symbols}
        n = int(_cell(table, network, horizon, symbols[0], "n"))
        perfect = stats.perfect_coverage_spread(n, horizon, band=COVERAGE_BAND)
        intervals = {}
        for seed, symbol in enumerate(symbols):
            inside = stats.row_inside(_rows(forecasts, network, horizon, symbol))
            intervals[symbol] = stats.mean_interval(inside, stats.block_length(horizon), seed)
        met = all(low <= c <= high for c in coverage.values())
        lines.append(
            f"- Issues 19/22, h={horizon}: coverage {low:.2f}-{high:.2f} on every symbol: "
            f"{_verdict(met)}: "
            + ", ".join(
                f"{s} {c:.3f} (95% {intervals[s][0]:.3f}-{intervals[s][1]:.3f})"
                for s, c in coverage.items()
            )
            + f". A forecaster that knows the true quantiles lands in {perfect['low']:.3f}-"
            f"{perfect['high']:.3f} over {n} overlapping {horizon}-day forecasts (95%), inside "
            f"{low:.2f}-{high:.2f} with probability {perfect['inside']:.2f} per symbol "
            f"({perfect['inside'] ** len(symbols):.2f} for all {len(symbols)} if independent)."
        )
    # Half-years.
    hl, hh = HALF_YEAR_BAND
    for horizon in horizons:
        halves = _half_years(forecasts, network, horizon)
        full = halves[halves["n"] >= 100]
        outside = full[(full["coverage"] < hl) | (full["coverage"] > hh)]
        n = int(_cell(table, network, horizon, symbols[0], "n"))
        perfect = stats.perfect_coverage_spread(n, horizon, band=COVERAGE_BAND)
        lines.append(
            f"- Issue 19, h={horizon}: coverage {hl:.2f}-{hh:.2f} in every calendar half-year "
            f"(of at least 100 forecasts): {_verdict(outside.empty)}: "
            f"{len(full) - len(outside)} of {len(full)} symbol-half-years inside"
            + (
                " (outside: "
                + ", ".join(
                    f"{r.symbol} {r.half} {r.coverage:.3f}" for r in outside.itertuples()
                )
                + ")"
                if not outside.empty
                else ""
            )
            + f". A perfect forecaster keeps all {perfect['halves']:.0f} consecutive "
            f"126-day half-years of one symbol inside with probability "
            f"{perfect['every_half_inside']:.2f}."
        )
    # VaR tests.
    for horizon in horizons:
        rejected, total = [], 0
        for symbol in symbols:
            tests = stats.var_tests(_rows(forecasts, network, horizon, symbol), horizon)
            for tail in ("lower", "upper", "interval"):
                part = getattr(tests, tail)
                for test in ("pof", "independence", "conditional_coverage"):
                    total += 1
                    if getattr(part, test).rejected:
                        rejected.append(
                            f"{symbol} {tail} {test} (p {getattr(part, test).p_value:.3f})"
                        )
        every = "" if horizon == 1 else f" on every {horizon}th forecast"
        lines.append(
            f"- Issue 19, h={horizon}: Kupiec and Christoffersen tests not rejected at "
            f"{LEVEL:.0%}{every}: {_verdict(not rejected)}: {len(rejected)} of {total} "
            f"rejections ({LEVEL * total:.1f} expected by chance if they were independent)"
            + (": " + "; ".join(rejected) if rejected else "")
            + "."
        )
    lines.append("")
    return lines


# -- tables --------------------------------------------------------------------------------


def _horizon_table(
    table: pd.DataFrame, names: list[str], symbols: list[str], horizon: int
) -> list[str]:
    lines = [
        f"### Horizon {horizon}",
        "",
        "Pinball x 1000 (mean over the 10/50/90% levels, log returns); `vs pers.` its ratio "
        "to persistence's as served, `vs band` to persistence's without the online scale; "
        "interval score of the 80% interval in % of the close.",
        "",
        "| Symbol | Forecaster | N | MASE | Pinball | vs pers. | vs band | Pinball static "
        "| Coverage | Coverage static | Interval score |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for symbol in [*symbols, "ALL"]:
        for name in names:
            mine = table[
                (table["forecaster"] == name)
                & (table["horizon"] == horizon)
                & (table["symbol"] == symbol)
            ]
            if mine.empty:
                continue
            m = mine.iloc[0]
            lines.append(
                f"| {symbol} | {name} | {int(m['n'])} | {m['mase']:.3f} | "
                f"{1000 * m['pinball']:.3f} | {m['vs_persistence']:.4f} | "
                f"{m['vs_persistence_static']:.4f} | {1000 * m['pinball_static']:.3f} | "
                f"{m['coverage']:.3f} | {m['coverage_static']:.3f} | {m['interval_score']:.3f} |"
            )
    lines.append("")
    return lines


def _median_section(
    forecasts: pd.DataFrame,
    network: str,
    names: list[str],
    symbols: list[str],
    horizons: list[int],
) -> list[str]:
    lines = [
        "### Does the median beat no-change?",
        "",
        "Diebold-Mariano test of the absolute error against persistence's (Newey-West "
        "variance of lag h-1, Harvey-Leybourne-Newbold correction), two-sided, per symbol. "
        "`same` means the median is the last close on every day (the network falls back "
        "to it when its own median does not beat no-change on the validation months).",
        "",
        "| Horizon | Forecaster | " + " | ".join(symbols) + " |",
        "|---:|---|" + "---|" * len(symbols),
    ]
    for horizon in horizons:
        for name in [network, "drift"]:
            if name not in names:
                continue
            cells = []
            for symbol in symbols:
                mine, theirs = _paired(forecasts, name, PERSISTENCE, horizon, symbol)
                error = np.abs(mine["predicted_close"] - mine["actual_close"]).to_numpy()
                naive = np.abs(theirs["predicted_close"] - theirs["actual_close"]).to_numpy()
                if np.array_equal(error, naive):
                    cells.append("same")
                    continue
                difference, p = stats.diebold_mariano(error, naive, horizon)
                mase = error.mean() / naive.mean()
                reading = "better" if difference < 0 and p < LEVEL else "no better"
                if difference > 0 and p < LEVEL:
                    reading = "worse"
                cells.append(f"MASE {mase:.3f}, p {p:.2f}: {reading}")
            lines.append(f"| {horizon} | {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _var_section(
    forecasts: pd.DataFrame, names: list[str], symbols: list[str], horizons: list[int]
) -> list[str]:
    lines = [
        "### VaR-style backtests of the served interval",
        "",
        "p-values of Kupiec's proportion of failures (POF) and Christoffersen's independence "
        "(IND) and conditional coverage (CC), for the lower tail (10%), the upper tail "
        "(10%) and the interval (20%); at h > 1 on every h-th forecast only (overlapping "
        "outcomes make consecutive hits dependent by construction), so with few rows the "
        "tests have little power. `*`: rejected at 5%.",
        "",
    ]
    for horizon in horizons:
        lines += [
            f"Horizon {horizon}:",
            "",
            "| Symbol | Forecaster | N | lower hits | lower POF/IND/CC | upper hits "
            "| upper POF/IND/CC | interval POF/IND/CC |",
            "|---|---|---:|---:|---|---:|---|---|",
        ]
        for symbol in symbols:
            for name in names:
                rows = _rows(forecasts, name, horizon, symbol)
                if rows.empty:
                    continue
                tests = stats.var_tests(rows, horizon)
                lines.append(
                    f"| {symbol} | {name} | {tests.lower.n} | {tests.lower.hit_rate:.3f} | "
                    f"{_p(tests.lower)} | {tests.upper.hit_rate:.3f} | {_p(tests.upper)} | "
                    f"{_p(tests.interval)} |"
                )
        lines.append("")
    return lines


def _p(part: Any) -> str:
    cells = []
    for test in (part.pof, part.independence, part.conditional_coverage):
        value = test.p_value
        text = "-" if value is None or math.isnan(value) else f"{value:.2f}"
        cells.append(text + ("*" if test.rejected else ""))
    return " / ".join(cells)


def _half_years(forecasts: pd.DataFrame, name: str, horizon: int) -> pd.DataFrame:
    rows = forecasts[(forecasts["forecaster"] == name) & (forecasts["horizon"] == horizon)]
    frame = pd.DataFrame(
        {
            "symbol": rows["symbol"].to_numpy(),
            "half": stats.half_year(rows["as_of_date"]).to_numpy(),
            "inside": stats.row_inside(rows),
        }
    )
    return (
        frame.groupby(["symbol", "half"])["inside"]
        .agg(coverage="mean", n="size")
        .reset_index()
        .sort_values(["symbol", "half"])
    )


def _half_year_section(
    forecasts: pd.DataFrame, names: list[str], symbols: list[str], horizons: list[int]
) -> list[str]:
    lines = [
        "### Coverage per calendar half-year (as-of date), as served",
        "",
        "A half-year with fewer than 100 forecasts (the first and last, cut by the "
        "walk-forward's span) is in brackets.",
        "",
    ]
    for horizon in horizons:
        halves = sorted(
            stats.half_year(forecasts.loc[forecasts["horizon"] == horizon, "as_of_date"]).unique()
        )
        lines += [
            f"Horizon {horizon}:",
            "",
            "| Symbol | Forecaster | " + " | ".join(halves) + " |",
            "|---|---|" + "---:|" * len(halves),
        ]
        for symbol in symbols:
            for name in names:
                table = _half_years(forecasts, name, horizon)
                mine = table[table["symbol"] == symbol].set_index("half")
                cells = []
                for half in halves:
                    if half not in mine.index:
                        cells.append("-")
                        continue
                    value = f"{mine.loc[half, 'coverage']:.3f}"
                    cells.append(value if mine.loc[half, "n"] >= 100 else f"({value})")
                lines.append(f"| {symbol} | {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines

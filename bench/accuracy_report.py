"""The accuracy benchmark's report: the method, the targets' verdicts, and every
forecaster's scores per symbol and horizon, as the daily job serves them."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pandas as pd

from bench import accuracy_stats as stats
from bench.accuracy_scores import Run, cell, median_reading, score_table, served
from bench.accuracy_targets import ordinal, targets
from market_predictor.config import Settings
from market_predictor.online_calibration import OnlineRule


def render(
    static: pd.DataFrame,
    meta: dict[str, Any],
    command: str,
    before: tuple[pd.DataFrame, dict[str, Any]] | None = None,
) -> str:
    run = Run.of(static, meta)
    lines = _method(run, meta, command)
    lines += targets(run)
    if before is not None:
        lines += _before_section(run, *before)
    for horizon in run.horizons:
        lines += _horizon_table(run, horizon)
    lines += _median_section(run)
    lines += _var_section(run)
    lines += _half_year_section(run)
    return "\n".join(lines) + "\n"


def _method(run: Run, meta: dict[str, Any], command: str) -> list[str]:
    config = meta["config"]
    return [
        "## Accuracy: walk-forward on the sample data, every horizon, as served",
        "",
        f"Walk-forward {meta['start']} .. {meta['end']} over {', '.join(run.symbols)} (real "
        "daily prices from bokeh-sampledata, ingested with the `sample` source), refit every "
        f"{meta['retrain_every']} on an expanding window ({meta['folds']} folds), horizons "
        f"{', '.join(map(str, run.horizons))} trading days. Each forecast uses only rows up "
        "to its as-of date and is scored against the stored close h rows later; every "
        "forecaster is fitted and scored on the same rows, so MASE is relative to "
        "persistence on exactly those forecasts.",
        "",
        f"- **{run.network}**: the packaged training config (window {config['window']}, "
        f"hidden {config['hidden_size']}, max {config['max_epochs']} epochs, early stopping "
        f"on the last {config['validation_months']} months before each fold), one quantile "
        "head per horizon.",
        "- **persistence**: the close h days ahead = today's, band = 21-day volatility x "
        "sqrt(h) x the empirical quantiles of volatility-scaled h-day returns.",
        "- **drift**: persistence moved h times by the symbol's mean daily log return.",
        "- **garch, gjr_garch, egarch**: GARCH(1,1), GJR-GARCH(1,1) and EGARCH(1,1) with "
        "Student-t errors (`arch`), **har**: log-HAR on a range-based variance; each fitted "
        "per symbol, quantiles by filtered historical simulation of its h-day variance.",
        "- **combined**: the quantile average (Vincentization) of the fold's network and "
        "the rival with the lowest pinball on the fold's early-stopping months, as `mpp "
        "train` registers it (market_predictor.models.combined).",
        "- Every forecaster above is fitted before its fold's last "
        f"{config['validation_months']} months and its interval recalibrated on them "
        "(market_predictor.models.calibration), as `mpp train` does; "
        "**persistence_uncalibrated** is persistence fitted on every row, without it.",
        "- **As served**: every forecaster's interval then gets the online scale "
        f"(market_predictor.online_calibration, step {Settings().online_eta:g}/sqrt(h) at "
        "the production settings), reset at each refit and fed each realised error only "
        "once its target close is known, exactly as the daily job applies it (the "
        "`static` columns are without it).",
        "",
        f"Command: `{command}`. Fitted at commit {meta['commit']} in "
        f"{meta['seconds'] / 60:.1f} min on {meta['cpus']} shared cores (load average "
        f"{_load(meta['load_before'])} before, {_load(meta['load_after'])} after); fitting "
        "time over all folds: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in meta["fit_seconds"].items())
        + ".",
        "",
    ]


def _load(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _before_section(run: Run, static: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    """Each forecaster's served pinball and coverage (all symbols) under an earlier
    commit's calibration and its undamped online step, beside this code's."""
    rule = replace(OnlineRule.for_quantiles(tuple(meta["quantiles"])), horizon_damping=0.0)
    old = score_table(served(static, meta["quantiles"], rule))
    lines = [
        f"### Before and after this change (commit {meta['commit']} vs this code)",
        "",
        f"The same folds and fits; at {meta['commit']} each symbol's held-out factor was "
        "used unshrunk (and the pooled one below 100 held-out rows), and the online step "
        "was 0.05 at every horizon. Now the factor is shrunk by its effective rows and the "
        "step is 0.05/sqrt(h) (models/calibration.py, online_calibration.py, chosen on "
        "synthetic series: docs/benchmarks/interval_rules.md). Served pinball x 1000 over "
        "all symbols, before -> after (change), and coverage before -> after.",
        "",
        "| Forecaster | "
        + " | ".join(f"h={h} pinball | h={h} coverage" for h in run.horizons)
        + " |",
        "|---|" + "---:|---:|" * len(run.horizons),
    ]
    for name in run.names:
        cells = []
        for horizon in run.horizons:
            was = cell(old, name, horizon, "ALL", "pinball")
            now = run.cell(name, horizon, "ALL", "pinball")
            cells.append(f"{1000 * was:.3f} -> {1000 * now:.3f} ({now / was - 1:+.1%})")
            cells.append(
                f"{cell(old, name, horizon, 'ALL', 'coverage'):.3f} -> "
                f"{run.cell(name, horizon, 'ALL', 'coverage'):.3f}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _horizon_table(run: Run, horizon: int) -> list[str]:
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
    table = run.table
    for symbol in [*run.symbols, "ALL"]:
        for name in run.names:
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
    return [*lines, ""]


def _median_section(run: Run) -> list[str]:
    lines = [
        "### Does the median beat no-change?",
        "",
        "Diebold-Mariano test of the absolute error against persistence's (Newey-West "
        "variance of lag h-1, Harvey-Leybourne-Newbold correction), two-sided, per symbol. "
        "`same` means the median is the last close on every day (the network falls back "
        "to it when its own median does not beat no-change on the validation months).",
        "",
        "| Horizon | Forecaster | " + " | ".join(run.symbols) + " |",
        "|---:|---|" + "---|" * len(run.symbols),
    ]
    for horizon in run.horizons:
        for name in [run.network, "drift"]:
            if name in run.names:
                cells = [median_reading(run, name, horizon, s) for s in run.symbols]
                lines.append(f"| {horizon} | {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _var_section(run: Run) -> list[str]:
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
    for horizon in run.horizons:
        every = "" if horizon == 1 else f", every {ordinal(horizon)} forecast"
        lines += [
            f"Horizon {horizon}{every}:",
            "",
            "| Symbol | Forecaster | N | lower hits | lower POF/IND/CC | upper hits "
            "| upper POF/IND/CC | interval POF/IND/CC |",
            "|---|---|---:|---:|---|---:|---|---|",
        ]
        for symbol in run.symbols:
            for name in run.names:
                rows = run.rows(name, horizon, symbol)
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


def _half_year_section(run: Run) -> list[str]:
    lines = [
        "### Coverage per calendar half-year (as-of date), as served",
        "",
        "A half-year with fewer than 100 forecasts (the first and last, cut by the "
        "walk-forward's span) is in brackets.",
        "",
    ]
    for horizon in run.horizons:
        dates = run.forecasts.loc[run.forecasts["horizon"] == horizon, "as_of_date"]
        halves = sorted(stats.half_year(dates).unique())
        lines += [
            f"Horizon {horizon}:",
            "",
            "| Symbol | Forecaster | " + " | ".join(halves) + " |",
            "|---|---|" + "---:|" * len(halves),
        ]
        tables = {name: run.half_years(name, horizon) for name in run.names}
        for symbol in run.symbols:
            for name in run.names:
                mine = tables[name][tables[name]["symbol"] == symbol].set_index("half")
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

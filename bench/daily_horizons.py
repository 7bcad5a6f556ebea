"""The daily job's cost with several forecast horizons against one (bench.daily --horizons).

For each horizon set (MPP_HORIZONS, e.g. `1` and `1,5,21`), in one run: a home of the
synthetic universe whose network champion was trained with those horizons (an LSTM, so
every symbol's forecast runs the network), then HISTORY_DAYS trading days of the daily
job replayed before the measured day, so that day's monitoring scores the realised
errors of every horizon (a 21-day forecast's error is due after 21 sessions) and its
predict serves with a learnt interval scale. Then `mpp daily --as-of <day> --no-retrain`
on a fresh copy of each home, `repeats` rounds alternating the sets so that load from
other jobs falls on both alike; each set's median round is reported. A retrain is left
out: it is a training's cost, not the daily job's.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.daily import Step

HISTORY_DAYS = 30
GROWTH_TARGET = 1.30  # three horizons may cost at most 30% more than one


@dataclass
class HorizonRun:
    horizons: str
    champion: str
    runs: list[Step] = field(default_factory=list)  # one per round

    def median(self, value: Callable[[Step], float]) -> float:
        return statistics.median(value(step) for step in self.runs)


def run_horizons(
    specs: list[str],
    n_symbols: int,
    repeats: int,
    *,
    worker: list[str],
    prep_env: dict[str, str],
    base: dict[str, str],
    ours: Path,
    reuse: bool,
) -> list[HorizonRun]:
    from bench.daily import MPP, WORK, environment, fresh_copy, measure, prepared
    from bench.synthetic import DEFAULT_END, trading_days

    days = [
        d.date() for d in trading_days(DEFAULT_END.replace(year=DEFAULT_END.year - 1), DEFAULT_END)
    ]
    cut, until = days[-HISTORY_DAYS - 1], days[-2]
    templates: dict[str, tuple[Path, dict[str, object]]] = {}
    for spec in specs:
        template = WORK / f"horizons{n_symbols}-{spec.replace(',', '-')}"
        command = [
            *worker,
            "--prepare",
            str(template),
            "--symbols",
            str(n_symbols),
            "--history-end",
            cut.isoformat(),
            "--replay-until",
            until.isoformat(),
        ]
        prepared_home = prepared(template, command, prep_env | {"MPP_HORIZONS": spec}, reuse)
        templates[spec] = (template, prepared_home.output)
    results = {
        spec: HorizonRun(spec, str(setup["champion"])) for spec, (_, setup) in templates.items()
    }
    for round_ in range(repeats):
        for spec, (template, setup) in templates.items():
            home = fresh_copy(template, f"run-horizons-{spec.replace(',', '-')}")
            env = environment(base, ours, home, setup) | {"MPP_HORIZONS": spec}
            day = str(setup["day"])
            command = [sys.executable, "-X", "importtime", MPP, "daily", "--as-of", day]
            step = measure([*command, "--no-retrain", "--json"], env, f"horizons-{spec}")
            results[spec].runs.append(step)
            print(
                f"horizons {spec}, round {round_ + 1}: {step.seconds:.1f} s "
                f"(imports {step.imports:.1f} s, load {step.load:.1f})"
            )
    return list(results.values())


def render_horizons(runs: list[HorizonRun], n_symbols: int, repeats: int) -> list[str]:
    if not runs:
        return []
    first = runs[0]

    def work(step: Step) -> float:
        return step.seconds - step.imports

    def cpu(step: Step) -> float:
        return step.cpu

    def seconds_of(name: str) -> Callable[[Step], float]:
        return lambda step: float(step.output.get("seconds", {}).get(name, 0.0))  # type: ignore[attr-defined]

    lines = [
        "",
        "## The daily job's cost by forecast horizons: "
        + " against ".join(f"`MPP_HORIZONS={r.horizons}`" for r in runs),
        "",
        f"{n_symbols} symbols, 10 years stored; each champion an LSTM trained with its "
        f"horizons; {HISTORY_DAYS} trading days of daily jobs before the measured one, so "
        "its monitoring scores every horizon's realised errors. `mpp daily --as-of <day> "
        f"--no-retrain`, {repeats} rounds alternating the horizon sets; the median round "
        "of each. Work = wall time less the process's own imports, as above; the target "
        f"(issue 22: less than {GROWTH_TARGET - 1:.0%} more) is judged on it. CPU counts "
        "the imports too, which both sets pay alike, so its ratio is the smaller.",
        "",
        "| horizons | champion | wall / CPU (s) | imports (s) | work beyond imports (s) "
        "| steps ingest / predict / monitor / compact (s) | peak RSS (MB) | load average "
        "(1 min, each round) | work, CPU vs first |",
        "|---|---|---:|---:|---:|---|---:|---|---|",
    ]
    for run in runs:
        steps = " / ".join(
            f"{run.median(seconds_of(name)):.2f}"
            for name in ("ingest", "predict", "monitor", "compact")
        )
        ratio_work = run.median(work) / first.median(work)
        ratio_cpu = run.median(cpu) / first.median(cpu)
        verdict = ""
        if run is not first:
            met = ratio_work < GROWTH_TARGET
            verdict = f" (< {GROWTH_TARGET:.2f}: {'met' if met else '**missed**'})"
        lines.append(
            f"| {run.horizons} | {run.champion} | {run.median(lambda s: s.seconds):.1f} / "
            f"{run.median(cpu):.1f} | {run.median(lambda s: s.imports):.1f} | "
            f"{run.median(work):.2f} | {steps} | {run.median(lambda s: s.peak_mb):.0f} | "
            f"{', '.join(f'{s.load:.1f}' for s in run.runs)} | "
            f"{ratio_work:.2f}, {ratio_cpu:.2f}{verdict} |"
        )
    return [*lines, ""]

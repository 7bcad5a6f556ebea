"""Mutation testing of the modules where a silent bug costs money or trust.

`make mutation` (= `python -m bench.mutation [GROUP ...]`) runs mutmut (configured in
pyproject.toml) on one group at a time, then writes the score of each group and every
surviving mutant, with its explanation, to docs/benchmarks/mutation.md. A survivor is
either listed in EQUIVALENT (no test can tell it from the original, and why), or in
SURVIVING (a real difference no test pins, and why none should), or it is a gap in the
tests. The score counts killed mutants among the non-equivalent ones.

Scope, so that a full run stays under 30 minutes on 2 shared cores: each group mutates
only its decisive functions (GROUPS), and mutmut runs, for each mutant, the selected unit
tests that call the mutated function (pyproject.toml [tool.mutmut]); the three monitor()
end-to-end tests are deselected there (a replay each, paid again by every mutant they
reach), since each function they reach has unit tests of its own.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks" / "mutation.md"
TARGET = 0.85
M = "market_predictor"


@dataclass(frozen=True)
class Group:
    name: str
    files: tuple[str, ...]
    patterns: tuple[str, ...]  # mutmut mutant names (fnmatch) of the functions under test


GROUPS = (
    Group("validation", ("validation.py",), (f"{M}.validation.*",)),
    Group("registry gate", ("registry.py",), (f"{M}.registry.x_gate__mutmut_*",)),
    Group("evaluation", ("evaluation.py",), (f"{M}.evaluation.*",)),
    Group(
        "monitoring policy",
        ("monitoring.py", "triggers.py"),
        (
            *(
                f"{M}.monitoring.{function}__mutmut_*"
                for function in ("x_realised_errors", "x_served_errors", "x_rolling_skill")
            ),
            *(
                f"{M}.triggers.{function}__mutmut_*"
                for function in (
                    "x_per_test_level",
                    "x_coverage_test",
                    "x__binomial_acceptance",
                    "x_skill_test",
                    "x_strongest",
                )
            ),
        ),
    ),
    Group(
        "store schemas and upserts",
        ("store/schemas.py", "store/feature_group.py", "store/delta.py"),
        (
            f"{M}.store.feature_group.xǁPriceFeatureGroupǁupsert__mutmut_*",
            f"{M}.store.delta.xǁTableǁupsert__mutmut_*",
            f"{M}.store.delta.xǁTableǁto_arrow__mutmut_*",
        ),
    ),
    Group(
        "inference look-ahead guards",
        ("inference.py", "checks.py"),
        (
            f"{M}.inference.x_resolve_as_of__mutmut_*",
            f"{M}.inference.x_check_no_look_ahead__mutmut_*",
            f"{M}.inference.x_read_window__mutmut_*",
            f"{M}.checks.x_check_not_future__mutmut_*",
        ),
    ),
)

# Survivors that no test can kill, by mutant name, and why. Names follow the source: when
# a listed function changes, re-check its entries (mutmut numbers mutants per function).
EQUIVALENT: dict[str, str] = {
    "market_predictor.validation.x_price_schema__mutmut_4": (
        "equivalent: validate_prices hands the schema a frame with a fresh RangeIndex"
        " (drop_duplicates(ignore_index=True)), so a default index is the series' index"
    ),
    "market_predictor.validation.x_price_schema__mutmut_6": (
        "equivalent: as mutant 4 (the index argument dropped, a default RangeIndex)"
    ),
    "market_predictor.validation.x_price_schema__mutmut_8": (
        "equivalent: the schema's dtype checks make every checked column float64 already"
    ),
    "market_predictor.validation.x_price_schema__mutmut_30": (
        "equivalent: coerce=None is falsy, as coerce=False"
    ),
    "market_predictor.validation.x_price_schema__mutmut_33": (
        "equivalent: strict=False is pandera's default"
    ),
    "market_predictor.validation.x_price_schema__mutmut_34": (
        "equivalent: coerce=False is pandera's default"
    ),
    "market_predictor.validation.x_price_schema__mutmut_46": (
        "equivalent: a null symbol is already reported by the column's not-nullable"
        " check (as invalid symbol) whatever the pattern check fills in"
    ),
    "market_predictor.validation.x_price_schema__mutmut_48": ("equivalent: as mutant 46"),
    "market_predictor.validation.x_validate_prices__mutmut_2": (
        "equivalent: reasons are written by index label and both outputs are re-indexed,"
        " so a gap left by a dropped duplicate changes nothing"
    ),
    "market_predictor.validation.x_validate_prices__mutmut_3": ("equivalent: as mutant 2"),
    "market_predictor.validation.x_validate_prices__mutmut_5": (
        "equivalent: None, NaN and pd.NA all read as 'no reason yet' (notna() is False)"
    ),
    "market_predictor.validation.x_validate_prices__mutmut_7": (
        "equivalent: pd.NA without a dtype gives an object series, as dtype='object'"
    ),
    "market_predictor.validation.x_validate_prices__mutmut_8": (
        "equivalent: an empty series with an index is all-NaN: 'no reason yet', as pd.NA"
    ),
}

# Survivors that differ from the original in a way no test should pin, and why.
# They count as survived in the score.
SURVIVING: dict[str, str] = {
    "market_predictor.inference.x_check_no_look_ahead__mutmut_5": (
        "message wording only: the test checks the facts the refusal names (version,"
        " both dates, the reason), not its exact text"
    ),
}

# The bug classes issue 14 lists, planted by hand one at a time (never committed), and
# the test that fails for each.
PLANTED: tuple[tuple[str, str, str], ...] = ()

STATUS = {1: "killed", 3: "killed", 0: "survived", 33: "no tests", 5: "no tests", 37: "killed"}
TIMEOUTS = {36, 24, -24, 152, 255}


@dataclass
class Score:
    group: Group
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.killed) + len(self.survived) + len(self.equivalent) + len(self.untested)

    @property
    def score(self) -> float:
        counted = self.total - len(self.equivalent)
        return len(self.killed) / counted if counted else 1.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(group: Group) -> tuple[float, float]:
    """Wall and CPU seconds of one group's run (CPU: mutmut and every test it forked;
    on a shared machine the wall time mostly measures the other users)."""
    started, cpu = time.perf_counter(), _children_cpu()
    command = ["mutmut", "run", "--max-children", "2", *group.patterns]
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu


def results(group: Group) -> Score:
    score = Score(group)
    for file in group.files:
        meta = ROOT / "mutants" / "src" / M / f"{file}.meta"
        if not meta.exists():
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in sorted(codes.items()):
            if code is None or not any(fnmatch.fnmatchcase(name, p) for p in group.patterns):
                continue  # not run (yet), or outside the functions under test
            if code in TIMEOUTS or STATUS.get(code) == "killed":
                score.killed.append(name)
            elif name in EQUIVALENT:
                score.equivalent.append(name)
            elif STATUS.get(code) == "no tests":
                score.untested.append(name)
            else:
                score.survived.append(name)
    return score


def diff(name: str) -> str:
    shown = subprocess.run(
        ["mutmut", "show", name], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    lines = [line for line in shown.splitlines() if line.startswith(("+", "-"))]
    return "\n".join(line for line in lines if not line.startswith(("+++", "---")))


def write(scores: list[Score], command: str, whole: dict[str, float] | None) -> None:
    lines = [
        "# Mutation testing",
        "",
        f"Command: `{command}` ({dt.date.today()}, mutmut 3.8.1, 2 workers on a shared 2-core",
        "machine). Each group mutates the functions named in `bench/mutation.py` and runs,",
        "for each mutant, the unit tests that call the mutated function among those selected",
        "in `pyproject.toml` (`[tool.mutmut]`). The score is killed mutants over",
        "non-equivalent ones; the target is 85% per group.",
        "",
        "| group | mutants | killed | equivalent | survived | no test | score "
        "| wall min | CPU min |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scores:
        score = f"{s.score:.1%}" if s.total else "not run"
        lines.append(
            f"| {s.group.name} | {s.total} | {len(s.killed)} | {len(s.equivalent)} | "
            f"{len(s.survived)} | {len(s.untested)} | {score} | {s.seconds / 60:.1f} | "
            f"{s.cpu_seconds / 60:.1f} |"
        )
    if whole:
        lines += [
            "",
            f"Whole run (`{command}`, every group): {whole['wall'] / 60:.1f} min wall,"
            f" {whole['cpu'] / 60:.1f} min CPU (user + system, mutmut and every test process);"
            f" load average {whole['load_start']:.1f} at the start and"
            f" {whole['load_end']:.1f} at the end, on 2 cores shared with other jobs.",
        ]
    lines += [
        "",
        "Scope: validation mutates all of `validation.py`; the registry gate `gate()`;",
        "evaluation all of `evaluation.py`; the monitoring policy the realised-error and",
        "rolling-skill functions of `monitoring.py` and the coverage, skill, level and",
        "reporting functions of `triggers.py` (the drift statistic's null is measured by",
        "the slower drift tests in `tests/unit/test_triggers.py`, outside this run; the",
        "cached `_binomial_acceptance` is not mutated by mutmut); the store the two",
        "upserts and the frame-to-table conversion; inference the as-of resolution, the",
        "look-ahead refusal, the window read and `check_not_future`. The monitor()",
        "end-to-end tests are deselected (a replay each, paid by every mutant they reach).",
        "",
        "`store/schemas.py` holds only the table schemas and keys (no functions, so no",
        "mutants); its keys are covered by behaviour tests instead: two model versions",
        "forecasting the same day keep both rows (tests/integration/test_two_versions_one_day.py).",
        "",
        "## Planted bugs",
        "",
        "Each bug class of issue 14, planted by hand one at a time and run against the named",
        "test (never committed):",
        "",
        "| bug | where | caught by |",
        "|---|---|---|",
        *(f"| {bug} | `{where}` | {caught} |" for bug, where, caught in PLANTED),
        "",
        "## Survivors",
    ]
    for s in scores:
        left = [*s.equivalent, *s.survived, *s.untested]
        lines += ["", f"### {s.group.name}", ""]
        if not s.total:
            lines.append("Not run yet: `python -m bench.mutation " + s.group.name.split()[0] + "`.")
        elif not left:
            lines.append("None.")
        for name in left:
            why = EQUIVALENT.get(name) or SURVIVING.get(name, "not killed: a gap in the tests")
            lines += [f"- `{name}`: {why}", "", "  ```diff"]
            lines += [f"  {line}" for line in diff(name).splitlines()]
            lines += ["  ```", ""]
    REPORT.write_text("\n".join(lines).rstrip() + "\n")


def _timing(value: float | list[float]) -> tuple[float, float]:
    # Older durations files hold the wall time only.
    return (value, 0.0) if isinstance(value, float | int) else (value[0], value[1])


USAGE = """usage: python -m bench.mutation [GROUP ...] [--report-only]

Runs mutmut on the named groups (first word: validation registry evaluation monitoring
store inference; default: all), then rewrites docs/benchmarks/mutation.md from every
stored result. --report-only rewrites the report without running anything."""


def main(argv: list[str]) -> int:
    """Run the groups named by their first word (default: all), or with --report-only
    rewrite the report from the stored results."""
    if {"-h", "--help"} & set(argv):
        print(USAGE)
        return 0
    known = {group.name.split()[0] for group in GROUPS}
    names = [a for a in argv if not a.startswith("--")]
    unknown = [a for a in argv if a not in known and a != "--report-only"]
    if unknown:
        print(f"unknown group or option: {', '.join(unknown)}\n\n{USAGE}", file=sys.stderr)
        return 2
    durations_file = ROOT / "mutants" / "durations.json"
    durations = json.loads(durations_file.read_text()) if durations_file.exists() else {}
    if "--report-only" not in argv:
        load_start, started, cpu = os.getloadavg()[0], time.perf_counter(), _children_cpu()
        for group in GROUPS:
            if not names or group.name.split()[0] in names:
                durations[group.name] = run(group)
                durations_file.write_text(json.dumps(durations))
        if not names:
            durations["whole"] = {
                "wall": time.perf_counter() - started,
                "cpu": _children_cpu() - cpu,
                "load_start": load_start,
                "load_end": os.getloadavg()[0],
            }
            durations_file.write_text(json.dumps(durations))
    scores = []
    for group in GROUPS:
        score = results(group)
        score.seconds, score.cpu_seconds = _timing(durations.get(group.name, 0.0))
        scores.append(score)
        print(f"{group.name}: {score.score:.1%} of {score.total} ({score.seconds / 60:.1f} min)")
    write(scores, "make mutation", durations.get("whole"))
    return 0 if all(s.score >= TARGET for s in scores if s.total) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

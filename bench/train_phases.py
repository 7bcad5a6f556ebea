"""Runs `mpp train` or `mpp backtest` in this process with a stopwatch on each stage, for
bench/train_cost.

Each stage function is wrapped (in its module, so the call sites of `train()` pick the
wrapper up) with a timer that charges wall and CPU time *exclusively*: time spent in
a nested timed call (feature building inside the network fit, say) goes to the inner
stage, so the stages add up to the run. After the command, the stages' seconds, CPU
seconds and the process's peak RSS after each stage are written as JSON to the file
named by MPP_BENCH_PHASES. Measurement only: nothing here changes what train does.

Run: MPP_BENCH_PHASES=out.json python -m bench.train_phases train --json
(or `backtest --json`).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Stage -> the functions charged to it, as (module, attribute[.method]); the stages of
# `mpp train` and of `mpp backtest` (a function a command never calls costs nothing).
STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "data loading": (
        ("market_predictor.training.history", "training_dataset"),
        ("market_predictor.training.history", "load_history"),
    ),
    "feature building": (("market_predictor.features", "build_features"),),
    "network fit": (("market_predictor.training.fit", "fit_forecaster"),),
    "rival fits": (
        ("market_predictor.training.fit", "fit_rivals"),
        ("market_predictor.training.fit", "fit_baseline"),
    ),
    "evaluation": (
        ("market_predictor.training.evaluate", "validation_forecasts"),
        ("market_predictor.training.evaluate", "compare_on_common_rows"),
        ("market_predictor.training.evaluate", "attach_outcomes"),
        ("market_predictor.models.forecaster", "Forecaster.predict_range"),
        ("market_predictor.backtest", "_score"),
        ("market_predictor.backtest", "simulate"),
    ),
    "MLflow logging": (
        ("market_predictor.tracking", "check_tracking"),
        ("market_predictor.tracking", "configure_tracking"),
        ("market_predictor.training.run", "current_champion"),
        ("market_predictor.training.run", "log_validation"),
        ("market_predictor.training.run", "TrainingRun.register"),
        ("market_predictor.training.run", "TrainingRun.carry_out"),
    ),
}
# Generators whose every step is charged to a stage: the batches a fit streams from the
# dataset's table are data loading, not network fitting.
ITERATORS: dict[str, tuple[tuple[str, str], ...]] = {
    "data loading": (("market_predictor.store.datasets", "DatasetRegistry.read_batches"),),
}
# A context manager: its entry (start the run, log params) and exit (end the run) are
# MLflow work, its body is not.
RUN_CONTEXT = ("market_predictor.training.run", "training_run")


_TICKS = os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU seconds of this process's live children, each with the children it reaped:
    the fork server of the rival fits' process pool and, through it, its workers (they
    are its children, not ours, so neither process_time nor our wait4 sees them)."""
    pids: set[str] = set()
    for task in Path("/proc/self/task").iterdir():
        try:  # threads come and go
            pids.update((task / "children").read_text().split())
        except FileNotFoundError:
            continue
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:  # exited between the listing and the read
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / _TICKS


def cpu_seconds() -> float:
    """This process's CPU and its live children's (see children_cpu)."""
    return time.process_time() + children_cpu()


class Stopwatch:
    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self._stack: list[list[float]] = []  # per open stage: [wall, cpu] spent in children

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        self._stack.append([0.0, 0.0])
        try:
            yield
        finally:
            inner_wall, inner_cpu = self._stack.pop()
            wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
            self.wall[name] = self.wall.get(name, 0.0) + wall - inner_wall
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu - inner_cpu
            if self._stack:
                self._stack[-1][0] += wall
                self._stack[-1][1] += cpu
            # ru_maxrss (KB on Linux) never falls: the peak reached by the end of this stage.
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            self.peak_mb[name] = max(self.peak_mb.get(name, 0.0), peak)

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return function(*args, **kwargs)

        wrapper.__wrapped__ = function  # type: ignore[attr-defined]
        return wrapper

    def timed_iterator(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            items = iter(function(*args, **kwargs))
            while True:
                with self.stage(name):
                    item = next(items, _DONE)
                if item is _DONE:
                    return
                yield item

        return wrapper

    def timed_context(self, name: str, factory: Callable[..., Any]) -> Callable[..., Any]:
        @contextmanager
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            manager = factory(*args, **kwargs)
            with self.stage(name):
                value = manager.__enter__()
            try:
                yield value
            except BaseException:
                with self.stage(name):
                    if not manager.__exit__(*sys.exc_info()):
                        raise
            else:
                with self.stage(name):
                    manager.__exit__(None, None, None)

        return wrapper


_DONE = object()


def install(watch: Stopwatch) -> None:
    import importlib

    for stages, wrap in ((STAGES, watch.timed), (ITERATORS, watch.timed_iterator)):
        for name, targets in stages.items():
            for module_name, attribute in targets:
                module = importlib.import_module(module_name)
                owner_name, _, method = attribute.partition(".")
                if method:
                    owner = getattr(module, owner_name)
                    setattr(owner, method, wrap(name, getattr(owner, method)))
                    continue
                original = getattr(module, attribute)
                wrapped = wrap(name, original)
                # Modules that imported the function by name call their own reference.
                for loaded in list(sys.modules.values()):
                    if getattr(loaded, attribute, None) is original:
                        setattr(loaded, attribute, wrapped)
    module = importlib.import_module(RUN_CONTEXT[0])
    run_context = getattr(module, RUN_CONTEXT[1])
    setattr(module, RUN_CONTEXT[1], watch.timed_context("MLflow logging", run_context))


def main() -> None:
    import market_predictor.backtest
    import market_predictor.store.datasets
    import market_predictor.training.evaluate
    import market_predictor.training.fit
    import market_predictor.training.history
    import market_predictor.training.run  # noqa: F401  (loaded so install can patch them)
    from market_predictor.cli import app

    watch = Stopwatch()
    install(watch)
    began = time.perf_counter()
    # The CLI's own main() leaves through os._exit (see market_predictor.cli.main), which
    # would skip writing the report: call the Typer app, then leave the same way.
    code = app(args=sys.argv[1:], prog_name="mpp", standalone_mode=False)
    report = {
        "command_seconds": time.perf_counter() - began,
        # Not in the command's own wait4 figures: the fork server is never reaped by it.
        "children_cpu_at_exit": children_cpu(),
        "wall": watch.wall,
        "cpu": watch.cpu,
        "peak_mb": watch.peak_mb,
    }
    Path(os.environ["MPP_BENCH_PHASES"]).write_text(json.dumps(report))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

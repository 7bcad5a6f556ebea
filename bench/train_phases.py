"""Runs `mpp train` in this process with a stopwatch on each stage, for bench/train_cost.

Each stage function is wrapped (in its module, so the call sites of `train()` pick the
wrapper up) with a timer that charges wall and CPU time *exclusively*: time spent in
a nested timed call (feature building inside the network fit, say) goes to the inner
stage, so the stages add up to the run. After the command, the stages' seconds, CPU
seconds and the process's peak RSS after each stage are written as JSON to the file
named by MPP_BENCH_PHASES. Measurement only: nothing here changes what train does.

Run: MPP_BENCH_PHASES=out.json python -m bench.train_phases train --json
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

# Stage -> the functions charged to it, as (module, attribute[.method]).
STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "data loading": (("market_predictor.training.history", "training_dataset"),),
    "feature building": (("market_predictor.features", "build_features"),),
    "network fit": (("market_predictor.training.fit", "fit_forecaster"),),
    "rival fits": (("market_predictor.training.fit", "fit_rivals"),),
    "evaluation": (
        ("market_predictor.training.evaluate", "validation_forecasts"),
        ("market_predictor.training.evaluate", "compare_on_common_rows"),
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
# A context manager: its entry (start the run, log params) and exit (end the run) are
# MLflow work, its body is not.
RUN_CONTEXT = ("market_predictor.training.run", "training_run")


class Stopwatch:
    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self._stack: list[list[float]] = []  # per open stage: [wall, cpu] spent in children

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        self._stack.append([0.0, 0.0])
        try:
            yield
        finally:
            inner_wall, inner_cpu = self._stack.pop()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
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


def install(watch: Stopwatch) -> None:
    import importlib

    for name, targets in STAGES.items():
        for module_name, attribute in targets:
            module = importlib.import_module(module_name)
            owner_name, _, method = attribute.partition(".")
            if method:
                owner = getattr(module, owner_name)
                setattr(owner, method, watch.timed(name, getattr(owner, method)))
                continue
            original = getattr(module, attribute)
            wrapped = watch.timed(name, original)
            # Modules that imported the function by name call their own reference.
            for loaded in list(sys.modules.values()):
                if getattr(loaded, attribute, None) is original:
                    setattr(loaded, attribute, wrapped)
    module = importlib.import_module(RUN_CONTEXT[0])
    run_context = getattr(module, RUN_CONTEXT[1])
    setattr(module, RUN_CONTEXT[1], watch.timed_context("MLflow logging", run_context))


def main() -> None:
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

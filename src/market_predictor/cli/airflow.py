"""`mpp airflow`: run the `ml_pipeline` DAG under a local Airflow whose home is under
MPP_HOME (`standalone`), or once in-process with `dag.test()` (`test`).

Airflow is imported only by these commands (and in child processes), never by `mpp --help`.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from market_predictor.cli._common import JsonOption, console, parse_date, run_command
from market_predictor.errors import MPPError

airflow_app = typer.Typer(
    help="Run the ml_pipeline DAG under Apache Airflow (needs the \\[airflow] extra).",
    no_args_is_help=True,
)
# How long the components get to stop after Ctrl-C before they are terminated.
STOP_GRACE_SECONDS = 30


def register(app: typer.Typer) -> None:
    app.add_typer(airflow_app, name="airflow")


@airflow_app.command("standalone")
def standalone(
    port: Annotated[int, typer.Option(help="Port of the Airflow UI and API on 127.0.0.1.")] = 8080,
) -> None:
    """Start a local Airflow with ml_pipeline, its home under MPP_HOME; Ctrl-C stops it.

    Runs `airflow standalone` (scheduler, DAG processor, API server, triggerer) in its
    own process group capped for a 2-core machine; Ctrl-C stops every child."""
    from market_predictor.config import get_settings
    from market_predictor.orchestration.home import HOST, airflow_environment, password_file

    if not 0 < port < 65536:
        console.print(f"error: --port must be 1-65535, not {port}", markup=False)
        raise typer.Exit(2)
    settings = get_settings()
    env = airflow_environment(settings, port)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    for line in (
        f"Airflow home: {env['AIRFLOW_HOME']}",
        f"UI: http://{HOST}:{port}  (user admin)",
        f"admin password file: {password_file(env)}",
        "Ctrl-C stops Airflow.",
    ):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    # Its own process group, so one signal reaches every component and their workers.
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "standalone"], env=env, start_new_session=True
    )
    try:
        code = process.wait()
    except KeyboardInterrupt:
        # Stopped as asked: a component that needed SIGTERM or SIGKILL is still stopped.
        stop_group(process)
        console.print("Airflow stopped.", markup=False)
        raise typer.Exit(0) from None
    raise typer.Exit(0 if code == 0 else 1)


def stop_group(process: subprocess.Popen[bytes]) -> int:
    """SIGINT to the whole group, as a terminal's Ctrl-C would (standalone shuts its
    components down), then SIGTERM and SIGKILL for whatever is left; returns the
    standalone process's exit code."""
    group = process.pid  # start_new_session made it the group leader
    for sig, wait in ((signal.SIGINT, STOP_GRACE_SECONDS), (signal.SIGTERM, 10)):
        _signal_group(group, sig)
        try:
            code = process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        _signal_group(group, signal.SIGKILL)
        code = process.wait()
    _signal_group(group, signal.SIGKILL)  # workers that outlived their parent
    deadline = time.monotonic() + 30
    while _signal_group(group, 0) and time.monotonic() < deadline:
        time.sleep(0.2)  # SIGKILL is asynchronous: return once the group is gone
    return code


def _signal_group(group: int, sig: signal.Signals | int) -> bool:
    """Send `sig` to the group; False when no process of it is left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    return True


@airflow_app.command("test")
def test(
    date: Annotated[
        str, typer.Option("--date", help="Trading day to run, YYYY-MM-DD (its close).")
    ],
    json_output: JsonOption = False,
) -> None:
    """Run ml_pipeline once for a trading day with dag.test(), on the home under MPP_HOME.

    The run's data interval ends the evening of --date, after its close; the Airflow
    metadata database under MPP_HOME/airflow is created (migrated) as needed."""

    def work() -> dict[str, Any]:
        from market_predictor.checks import check_not_future
        from market_predictor.config import get_settings

        day = parse_date(date, "--date")
        assert day is not None
        check_not_future(day, "--date")
        return run_dag_test(get_settings(), day)

    run_command(work, json_output, render=render_test)


def run_dag_test(settings: Any, day: dt.date) -> dict[str, Any]:
    """Migrate the home's metadata database when needed, then one `dag.test()` run whose
    data interval ends at midnight after `day` (exchange time): the run for `day`."""
    import pandas as pd

    from market_predictor.calendar import trading_calendar
    from market_predictor.orchestration.home import airflow_environment

    env = airflow_environment(settings)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    migrated = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
    )
    if migrated.returncode != 0:
        # Airflow's reason is the last line of its traceback or log (a missing driver,
        # an unreachable database); the exit status alone says nothing.
        lines = [line for line in migrated.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit status {migrated.returncode}"
        raise MPPError(f"airflow db migrate failed: {reason}")
    os.environ.update(env)  # before Airflow is imported in this process
    from market_predictor.orchestration.dag import ml_pipeline

    tz = trading_calendar(settings.calendar).tz
    moment = pd.Timestamp(day, tz=tz) + pd.Timedelta(hours=23, minutes=59)
    dag_run = ml_pipeline.test(logical_date=moment.to_pydatetime())
    tasks = {
        ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": str(ti.state)
        for ti in dag_run.get_task_instances()
    }
    failed = [task for task, state in tasks.items() if state in ("failed", "upstream_failed")]
    return {
        "date": day.isoformat(),
        "run_id": dag_run.run_id,
        "state": str(dag_run.state),
        "tasks": tasks,
        "failed_step": failed[0] if failed else None,
    }


def render_test(result: dict[str, Any]) -> None:
    for task, state in result["tasks"].items():
        console.print(f"{task}: {state}", markup=False)
    console.print(f"ml_pipeline for {result['date']}: {result['state']}", markup=False)

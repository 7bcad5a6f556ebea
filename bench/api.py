"""API benchmark: wrk on 127.0.0.1 against `mpp serve` on demo-like data, beside a
constant-JSON FastAPI endpoint served the same way (uvicorn, same workers, same access
log middleware and log config) in the same run.

Data: the demo's four sample symbols, a persistence-baseline champion trained up to a
year before the sample ends, then the daily job replayed over that last year (so a
1-year predictions range holds ~250 rows). The data is built once under bench/.work/api
and reused by later runs.

Run: .venv/bin/python -m bench.api [--seconds 10] [--long-seconds 60]
Needs wrk (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "api"
HOME = WORK / "home"
REPORT = ROOT / "docs" / "benchmarks" / "api.md"
MPP = str(Path(sys.executable).with_name("mpp"))
SYMBOLS = ("AAPL", "MSFT", "IBM", "GOOG")
REPLAY_DAYS = 252
CONNECTIONS = (32, 128)
WORKERS = (1, 2)
TARGET_RATIO, TARGET_P99_MS = 0.60, 50.0


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def constant_app() -> object:
    """The baseline: one constant JSON response through the same stack."""
    from fastapi import FastAPI
    from pydantic import BaseModel

    from market_predictor.api.logging import AccessLogMiddleware

    class Constant(BaseModel):
        status: str

    app = FastAPI()

    @app.get("/constant", response_model=Constant)
    async def constant() -> Constant:
        return Constant(status="ok")

    app.add_middleware(AccessLogMiddleware)
    return app


def prepare() -> dict[str, str]:
    """The replayed home (built once); returns the replay's last day."""
    from market_predictor import calendar
    from market_predictor.config import Settings
    from market_predictor.day import resolve_day
    from market_predictor.pipeline import ingest_step, replay
    from market_predictor.registry import register_baseline
    from market_predictor.sources.sample import load_sample_prices

    settings = Settings(home=HOME, source="sample", symbols=list(SYMBOLS))
    sample = load_sample_prices()
    end = sample.loc[sample["symbol"].isin(SYMBOLS), "date"].max().date()
    ready = WORK / "ready.json"
    if ready.exists():
        return dict(json.loads(ready.read_text()))
    cut = calendar.shift_trading_days(end, -REPLAY_DAYS, settings.calendar)
    ingest_step(
        resolve_day(settings, as_of=cut, symbols=list(SYMBOLS), purpose="ingest"), source="sample"
    )
    register_baseline(settings, trained_until=cut)
    report = replay(
        settings,
        start=calendar.next_trading_day(cut, settings.calendar),
        end=end,
        source="sample",
        retrain=False,
    )
    if report.failed_step:
        raise SystemExit(f"replay failed on {report.failed_day}: {report.error}")
    info = {"end": end.isoformat(), "start": cut.isoformat()}
    ready.write_text(json.dumps(info))
    return info


def body_bytes(path: str, env: dict[str, str]) -> int:
    """The route's response size, from the app in-process on the same home."""
    from fastapi.testclient import TestClient

    from market_predictor.api.app import create_app
    from market_predictor.config import Settings

    settings = Settings(home=HOME, symbols=list(SYMBOLS))
    with TestClient(create_app(settings)) as client:
        return len(client.get(path).content)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    kind: str, workers: int, port: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    log = (WORK / f"{kind}-{workers}.log").open("ab")
    if kind == "api":
        command = [MPP, "serve", "--port", str(port), "--workers", str(workers)]
    else:
        command = [
            sys.executable,
            "-c",
            "import uvicorn; from market_predictor.api.logging import uvicorn_log_config; "
            f"uvicorn.run('bench.api:constant_app', factory=True, host='127.0.0.1', port={port}, "
            f"workers={workers}, access_log=False, log_config=uvicorn_log_config(), "
            "server_header=False)",
        ]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    url = f"http://127.0.0.1:{port}" + ("/api/v1/health" if kind == "api" else "/constant")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{kind} server exited; see {log.name}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                time.sleep(1.0 * workers)  # let every worker finish loading its cache
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"{kind} server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, connections: int, seconds: int) -> Load:
    # A 10 s timeout: a slow answer is latency (it shows in p99), not an error; errors
    # are refused or broken connections and non-2xx answers.
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", output, re.MULTILINE))
    if set(percentiles) != {"50", "99"}:
        raise SystemExit(f"unexpected wrk output for {url}:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(
        requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        requests=requests,
        errors=errors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="each grid run")
    parser.add_argument("--long-seconds", type=int, default=60, help="the zero-error run")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps(prepare()))
        return

    WORK.mkdir(parents=True, exist_ok=True)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MPP_", "MLFLOW_"))}
    setup = subprocess.run(
        [sys.executable, "-m", "bench.api", "--prepare"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=base_env,
    )
    info = json.loads(setup.stdout.strip().splitlines()[-1])
    end = dt.date.fromisoformat(info["end"])
    year_ago = end - dt.timedelta(days=365)
    env = base_env | {"MPP_HOME": str(HOME), "MPP_SYMBOLS": ",".join(SYMBOLS)}
    routes = {
        "constant JSON": "/constant",
        "latest prediction": "/api/v1/predictions/AAPL/latest",
        "1-year predictions": f"/api/v1/predictions/AAPL?start={year_ago}&end={end}",
        "metrics": "/api/v1/metrics/AAPL",
    }
    sizes = {name: body_bytes(path, env) for name, path in routes.items() if path != "/constant"}
    load_before = os.getloadavg()[0]
    rows: list[tuple[int, int, str, Load]] = []
    for workers in WORKERS:
        api_port, constant_port = free_port(), free_port()
        api = start_server("api", workers, api_port, env)
        constant = start_server("constant", workers, constant_port, env)
        try:
            for connections in CONNECTIONS:
                for name, path in routes.items():
                    port = constant_port if path == "/constant" else api_port
                    load = wrk(f"http://127.0.0.1:{port}{path}", connections, args.seconds)
                    rows.append((workers, connections, name, load))
                    print(
                        f"{workers}w {connections}c {name}: {load.requests_per_s:.0f} req/s "
                        f"p50 {load.p50_ms:.2f} ms p99 {load.p99_ms:.2f} ms errors {load.errors}",
                        flush=True,
                    )
        finally:
            stop(api)
            stop(constant)
    port = free_port()
    long_api = start_server("api", 1, port, env)
    try:
        long_run = wrk(
            f"http://127.0.0.1:{port}{routes['latest prediction']}", 32, args.long_seconds
        )
    finally:
        stop(long_api)
    print(f"long run: {long_run}")
    info |= {"load": f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"}
    write_report(rows, long_run, args, info, sizes)


def write_report(
    rows: list[tuple[int, int, str, Load]],
    long_run: Load,
    args: argparse.Namespace,
    info: dict[str, str],
    sizes: dict[str, int],
) -> None:
    constant = {(w, c): load for w, c, name, load in rows if name == "constant JSON"}
    lines = [
        "# API benchmark",
        "",
        f"Command: `.venv/bin/python -m bench.api --seconds {args.seconds} "
        f"--long-seconds {args.long_seconds}` (wrk 4.1, `wrk -t2 -cN -dS --latency`, 127.0.0.1).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs (wrk, "
        "the server and other work compete for the same cores, so absolute figures are "
        "pessimistic; the ratios against the constant endpoint, measured in the same run "
        "under the same load, are the point). Python "
        f"{platform.python_version()}, uvicorn via `mpp serve`, auth off, access log on. "
        f"1-minute load average: {info['load']}.",
        "",
        f"Data: 4 sample symbols, a persistence-baseline champion, the daily job replayed "
        f"over {REPLAY_DAYS} trading days ({info['start']} to {info['end']}). Routes: the "
        "latest prediction (`/predictions/AAPL/latest`), a 1-year range "
        "(`/predictions/AAPL?start&end`, ~250 rows), the metrics route (`/metrics/AAPL`: "
        f"~250 errors, ~250 daily rows and the summary). Grid runs last {args.seconds} s each "
        f"(the shared CPU); one {args.long_seconds} s run checks for errors. Body sizes: "
        + ", ".join(f"{name} {size / 1024:.1f} KiB" for name, size in sizes.items())
        + " (the constant: 15 bytes).",
        "",
        "| workers | connections | route | req/s | vs constant | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for workers, connections, name, load in rows:
        base = constant[(workers, connections)]
        ratio = load.requests_per_s / base.requests_per_s if base.requests_per_s else 0.0
        lines.append(
            f"| {workers} | {connections} | {name} | {load.requests_per_s:.0f} | {ratio:.0%} | "
            f"{load.p50_ms:.2f} | {load.p99_ms:.2f} | {load.errors} |"
        )
    api_rows = [(w, c, n, load) for w, c, n, load in rows if n != "constant JSON"]
    worst_ratio = min(
        load.requests_per_s / constant[(w, c)].requests_per_s for w, c, _, load in api_rows
    )
    worst_p99_32 = max(load.p99_ms for w, c, _, load in api_rows if c == 32)
    lines += [
        "",
        f"Zero-error run: latest prediction, 1 worker, 32 connections, {args.long_seconds} s: "
        f"{long_run.requests} requests, {long_run.requests_per_s:.0f} req/s, p50 "
        f"{long_run.p50_ms:.2f} ms, p99 {long_run.p99_ms:.2f} ms, **{long_run.errors} errors**.",
        "",
        "Targets: at least "
        f"{TARGET_RATIO:.0%} of the constant endpoint's throughput (worst route here: "
        f"{worst_ratio:.0%}, {'met' if worst_ratio >= TARGET_RATIO else 'MISSED'}); p99 under "
        f"{TARGET_P99_MS:.0f} ms at 32 connections (worst: {worst_p99_32:.1f} ms, "
        f"{'met' if worst_p99_32 < TARGET_P99_MS else 'MISSED'}); 0 errors over "
        f"{args.long_seconds} s ({'met' if long_run.errors == 0 else 'MISSED'}).",
        "",
    ]
    REPORT.write_text("\n".join(lines))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()

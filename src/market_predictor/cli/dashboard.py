"""`mpp dashboard` (the Streamlit dashboard on an API) and `mpp up` (the API and the
dashboard together on the current home)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from market_predictor.cli._common import console, run_command

if TYPE_CHECKING:
    from market_predictor.dashboard.launch import Service

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
    app.command("up")(up)


def dashboard(
    api_url: Annotated[
        str | None,
        typer.Option(help="The API's base URL (default: MPP_API_URL, else http://127.0.0.1:8001)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8501,
    host: HostOption = "127.0.0.1",
) -> None:
    """Open the Streamlit dashboard on a running API (`mpp serve`); Ctrl-C stops it."""

    def work() -> None:
        from market_predictor.dashboard.client import DashboardSettings
        from market_predictor.dashboard.launch import (
            check_port_free,
            dashboard_service,
            run_services,
        )

        url = (api_url or DashboardSettings().api_url).rstrip("/")
        _check_url(url)
        check_port_free(host, port, "--port")
        service = dashboard_service(url, host, port)
        env = {**os.environ, "MPP_API_URL": url}
        run_services([service], env, _announce(f" (API {url})"))

    run_command(work, json_output=False, render=lambda _: None)


def up(
    api_port: Annotated[int, typer.Option(help="Port of the API.")] = 8001,
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8501,
    host: HostOption = "127.0.0.1",
) -> None:
    """Start the API and the dashboard on this home (MPP_HOME); Ctrl-C stops both."""

    def work() -> None:
        from market_predictor.config import get_settings
        from market_predictor.dashboard.launch import (
            api_service,
            check_port_free,
            dashboard_service,
            run_services,
        )

        if api_port == port:
            from market_predictor.errors import InputError

            raise InputError(f"--api-port and --port are both {port}: pick two ports")
        check_port_free(host, api_port, "--api-port")
        check_port_free(host, port, "--port")
        api = api_service(host, api_port)
        api_url = api.url.removesuffix("/api/v1/docs")
        home = get_settings().resolved_home
        console.print(f"mpp up: serving {home}", markup=False, highlight=False)
        env = {**os.environ, "MPP_HOME": str(home), "MPP_API_URL": api_url}
        services = [api, dashboard_service(api_url, host, port)]
        run_services(services, env, _announce(""))

    run_command(work, json_output=False, render=lambda _: None)


def _announce(suffix: str) -> Callable[[Service], None]:
    def announce(service: Service) -> None:
        console.print(f"  {service.name:<9} {service.url}{suffix}", markup=False, highlight=False)
        if service.name == "dashboard":
            console.print("Ctrl-C stops everything.", markup=False)

    return announce


def _check_url(url: str) -> None:
    from market_predictor.errors import InputError

    if not url.startswith(("http://", "https://")):
        raise InputError(f"--api-url {url!r} must start with http:// or https://")

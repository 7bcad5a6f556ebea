"""`mpp serve`: the prediction API under uvicorn (FastAPI is imported only here, when
the command runs, so `mpp --help` stays light)."""

from __future__ import annotations

from typing import Annotated

import typer

from market_predictor.cli._common import err_console

# The app factory uvicorn imports in every worker process.
APP_FACTORY = "market_predictor.api.app:create_app"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8001,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API (docs at /api/v1/docs). MPP_API_KEY set: bearer tokens required."""
    if workers < 1:
        err_console.print(f"error: --workers must be 1 or more, not {workers}", markup=False)
        raise typer.Exit(2)
    if not 0 <= port <= 65535:
        err_console.print(f"error: --port must be within 0-65535, not {port}", markup=False)
        raise typer.Exit(2)
    try:
        import uvicorn

        from market_predictor.api.logging import uvicorn_log_config
    except ImportError:
        err_console.print("failed: the API needs the [api] extra (pip install '.[api]')")
        raise typer.Exit(1) from None

    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=uvicorn_log_config(),
        server_header=False,
    )

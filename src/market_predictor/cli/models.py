"""`mpp models list|show|promote`: the registry's versions, aliases and gate decisions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from market_predictor.cli._common import JsonOption, console, run_command

ModelNameOption = Annotated[
    str | None, typer.Option("--model-name", help="Registered model name (default: settings).")
]


def register(app: typer.Typer) -> None:
    models = typer.Typer(help="Registered model versions and the champion.", no_args_is_help=True)

    @models.command("list")
    def list_command(model_name: ModelNameOption = None, json_output: JsonOption = False) -> None:
        """Every version, newest first, with aliases and gate decisions."""

        def work() -> dict[str, Any]:
            from market_predictor.config import get_settings
            from market_predictor.registry import list_versions

            return {"versions": list_versions(get_settings(), model_name)}

        run_command(work, json_output, _render_list)

    @models.command("show")
    def show_command(
        version: Annotated[str | None, typer.Argument(help="Version (default: champion).")] = None,
        model_name: ModelNameOption = None,
        json_output: JsonOption = False,
    ) -> None:
        """One version's tags, parameters and validation metrics."""

        def work() -> dict[str, Any]:
            from market_predictor.config import get_settings
            from market_predictor.registry import show_version

            return show_version(get_settings(), version, model_name)

        run_command(work, json_output, _render_show)

    @models.command("promote")
    def promote_command(
        version: Annotated[str, typer.Argument(help="Version to make champion.")],
        model_name: ModelNameOption = None,
        json_output: JsonOption = False,
    ) -> None:
        """Manual override: make VERSION champion regardless of the gate (recorded)."""

        def work() -> dict[str, Any]:
            from market_predictor.config import get_settings
            from market_predictor.registry import promote

            return promote(get_settings(), version, model_name)

        run_command(
            work,
            json_output,
            lambda s: console.print(
                f"Version {s['champion_version']} of {s['model_name']} is champion "
                f"(manual promotion; previous champion: {s['previous_champion'] or 'none'})."
            ),
        )

    app.add_typer(models, name="models")


def _render_list(summary: Mapping[str, Any]) -> None:
    from rich.table import Table

    table = Table()
    for title in ("Version", "Aliases", "Type", "Trained until", "Gate", "Promoted by", "Run"):
        table.add_column(title)
    for v in summary["versions"]:
        table.add_row(
            v["version"],
            ", ".join(v["aliases"]),
            "baseline" if v["is_baseline"] else (v["tags"].get("network") or v["model_type"] or ""),
            v["trained_until"] or "",
            v["gate_decision"] or "",
            v["promoted_by"] or "",
            v["run_id"] or "",
        )
    console.print(table)


def _render_show(summary: Mapping[str, Any]) -> None:
    console.print(
        f"[bold]{summary['model_name']}[/] version {summary['version']} "
        f"({', '.join(summary['aliases']) or 'no alias'})"
    )
    for key, value in sorted(summary["tags"].items()):
        console.print(f"  {key}: {value}", markup=False, highlight=False)
    metrics = summary.get("metrics") or {}
    for key in sorted(k for k in metrics if k.startswith("val_") and k.endswith("pinball")):
        console.print(f"  {key}: {metrics[key]:.5f}", markup=False, highlight=False)

"""`mpp dataset create | list | show`: versioned training datasets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from market_predictor.cli._common import JsonOption, console, parse_date, run_command

NameOption = Annotated[str, typer.Option(help="Feature view name.")]


def register(app: typer.Typer) -> None:
    dataset = typer.Typer(help="Training datasets: immutable, versioned row selections.")
    dataset.command("create")(create)
    dataset.command("list")(list_datasets)
    dataset.command("show")(show)
    app.add_typer(dataset, name="dataset")


def create(
    start: Annotated[str, typer.Option(help="First date, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last date, inclusive.")],
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated tickers (default: every stored symbol).")
    ] = None,
    name: NameOption = "prices_daily",
    feature_group_version: Annotated[
        int | None, typer.Option(help="Prices feature group version to read.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Materialise the rows from START to END (inclusive); prints the new dataset version."""

    def work() -> dict[str, Any]:
        from market_predictor.config import get_settings
        from market_predictor.store import FeatureStore
        from market_predictor.symbols import parse_symbols

        first, last = parse_date(start, "start"), parse_date(end, "end")
        assert first is not None and last is not None  # required options
        store = FeatureStore.from_settings(get_settings(), feature_group_version)
        dataset = store.datasets.create(
            store.prices(), first, last, symbols=parse_symbols(symbols), name=name
        )
        return dataset.model_dump(mode="json")

    run_command(work, json_output, render=_render_one)


def list_datasets(
    name: Annotated[str | None, typer.Option(help="Only this feature view.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Every training dataset version with its lineage."""

    def work() -> dict[str, Any]:
        from market_predictor.config import get_settings
        from market_predictor.store import FeatureStore

        store = FeatureStore.from_settings(get_settings())
        return {"datasets": [d.model_dump(mode="json") for d in store.datasets.list(name)]}

    run_command(work, json_output, render=_render_list)


def show(
    version: Annotated[int, typer.Argument(help="Dataset version.")],
    name: NameOption = "prices_daily",
    json_output: JsonOption = False,
) -> None:
    """One training dataset's lineage, checked against its stored rows."""

    def work() -> dict[str, Any]:
        from market_predictor.config import get_settings
        from market_predictor.store import FeatureStore

        store = FeatureStore.from_settings(get_settings())
        dataset, intact = store.datasets.verify(version, name)
        return {**dataset.model_dump(mode="json"), "verified": intact}

    run_command(work, json_output, render=_render_one)


def _render_one(dataset: Mapping[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{dataset['name']} v{dataset['version']}", show_header=False)
    table.add_column("field", style="cyan")
    table.add_column("value")
    for key, value in dataset.items():
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        table.add_row(key, shown)
    console.print(table)


def _render_list(summary: Mapping[str, Any]) -> None:
    from rich.table import Table

    datasets = summary["datasets"]
    if not datasets:
        console.print("no training datasets yet: run `mpp dataset create --start D --end D`")
        return
    table = Table(title="Training datasets")
    for column in ("name", "version", "start", "end", "rows", "table version", "hash"):
        table.add_column(column)
    for d in datasets:
        table.add_row(
            d["name"],
            str(d["version"]),
            d["start"],
            d["end"],
            str(d["row_count"]),
            str(d["table_version"]),
            d["content_hash"][:12],
        )
    console.print(table)

"""The deployment files, checked without a Docker engine: the compose files validate
against the compose specification, every service of our image runs a command (and
options) that the installed CLIs really have, and every MPP_ variable is a setting."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import typer
import yaml

from market_predictor.cli import app
from market_predictor.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ("compose.yaml", "compose.celery.yaml")
OUR_IMAGE = "${STACK_IMAGE:-market-price-predictor:latest}"
_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _compose(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def _our_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == OUR_IMAGE or "build" in service
    }


def _executable_and_arguments(service: dict[str, Any]) -> tuple[str, list[str]]:
    entrypoint = service.get("entrypoint", _dockerfile_entrypoint())
    entrypoint = shlex.split(entrypoint) if isinstance(entrypoint, str) else list(entrypoint)
    if entrypoint[:2] == ["tini", "--"]:
        entrypoint = entrypoint[2:]
    command = service.get("command", [])
    command = shlex.split(command) if isinstance(command, str) else list(command)
    return entrypoint[0], entrypoint[1:] + command


def _dockerfile_entrypoint() -> list[str]:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    entrypoints = [line for line in lines if line.startswith("ENTRYPOINT")]
    assert len(entrypoints) == 1
    return list(json.loads(entrypoints[0].removeprefix("ENTRYPOINT")))


def _mpp_command(arguments: list[str]) -> click.Command:
    """The click command `mpp <arguments>` names, with its options checked."""
    command: click.Command = typer.main.get_command(app)
    words = [a for a in arguments if not a.startswith("-")]
    while hasattr(command, "commands") and words:  # a group (typer's is not click's)
        name = words.pop(0)
        assert name in command.commands, f"`mpp {name}` is not a command of the CLI"
        command = command.commands[name]
    known = {opt for param in command.params for opt in param.opts}
    for argument in arguments:
        if argument.startswith("--"):
            option = argument.split("=", 1)[0]
            assert option in known, f"`{command.name}` has no option {option}"
    return command


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_files_validate_against_the_compose_specification(name: str) -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(_compose(name), schema)


def test_the_stack_has_every_service_the_deployment_needs() -> None:
    services = set(_compose("compose.yaml")["services"])
    assert {
        "minio",
        "minio-buckets",
        "postgres",
        "mlflow",
        "airflow-init",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "api",
        "dashboard",
        "pipeline",
    } <= services


def test_every_service_of_our_image_runs_a_real_mpp_command() -> None:
    ran = set()
    for name, service in _our_services(_compose("compose.yaml")).items():
        executable, arguments = _executable_and_arguments(service)
        if executable != "mpp":
            continue
        ran.add(_mpp_command(arguments).name)
        assert name
    assert {"serve", "dashboard", "daily"} <= ran


def test_mpp_is_the_images_entry_point_and_the_packages_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert _dockerfile_entrypoint() == ["tini", "--", "mpp"]
    assert scripts["mpp"] == "market_predictor.cli:main"


def test_mlflow_and_airflow_services_run_commands_those_packages_install() -> None:
    scripts = {e.name for e in metadata.entry_points(group="console_scripts")}
    from airflow.cli.cli_config import core_commands
    from mlflow.cli import cli as mlflow_cli

    airflow_commands = {command.name: command for command in core_commands}
    for compose_file in COMPOSE_FILES:
        for name, service in _our_services(_compose(compose_file)).items():
            if "entrypoint" not in service and compose_file != "compose.yaml":
                continue  # an override of a service defined in compose.yaml
            executable, arguments = _executable_and_arguments(service)
            assert executable in scripts, f"{name}: no console script {executable!r}"
            if executable == "mlflow":
                server = mlflow_cli.commands[arguments[0]]
                known = {opt for param in server.params for opt in param.opts}
                for option in (a.split("=", 1)[0] for a in arguments if a.startswith("--")):
                    assert option in known, f"{name}: mlflow {arguments[0]} has no {option}"
            elif executable == "airflow" and arguments[0] != "celery":
                command = airflow_commands[arguments[0]]
                subcommands = getattr(command, "subcommands", None)
                if subcommands:
                    assert arguments[1] in {sub.name for sub in subcommands}, name


def test_the_celery_variant_installs_the_celery_provider_for_its_worker() -> None:
    celery = _compose("compose.celery.yaml")["services"]
    extras = celery["airflow-worker"]["build"]["args"]["EXTRA_PACKAGES"]
    assert extras.startswith("apache-airflow-providers-celery")
    assert celery["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == (
        "CeleryExecutor"
    )
    worker = _compose("compose.yaml")["services"]["airflow-worker"]
    assert _executable_and_arguments(worker) == ("airflow", ["celery", "worker"])


def test_every_mpp_variable_set_anywhere_is_a_setting() -> None:
    settings = {f"MPP_{name.upper()}" for name in Settings.model_fields}
    set_names: set[str] = set()
    for compose_file in COMPOSE_FILES:
        for service in _compose(compose_file)["services"].values():
            environment = service.get("environment", {})
            if isinstance(environment, list):
                environment = dict(item.split("=", 1) for item in environment)
            set_names |= {k for k in environment if k.startswith("MPP_")}
    example = (ROOT / ".env.example").read_text().splitlines()
    set_names |= {
        line.split("=", 1)[0] for line in example if line.startswith("MPP_") and "=" in line
    }
    assert set_names, "the stack sets no MPP_ variable at all"
    assert set_names <= settings, f"not settings: {sorted(set_names - settings)}"


def test_every_variable_the_compose_files_use_is_in_the_env_example() -> None:
    # Defined, or shown commented out (an optional setting the compose file defaults).
    example = [line.removeprefix("# ") for line in (ROOT / ".env.example").read_text().splitlines()]
    defined = {
        line.split("=", 1)[0]
        for line in example
        if "=" in line and " " not in line.split("=", 1)[0]
    }
    for compose_file in COMPOSE_FILES:
        used = set(_VARIABLE.findall((ROOT / compose_file).read_text()))
        assert used <= defined, f"{compose_file}: {sorted(used - defined)} not in .env.example"


def test_airflow_opens_its_postgresql_metadata_database_with_drivers_the_image_installs() -> None:
    # Airflow opens its metadata database twice, sync and async; left unset, the async
    # URL is derived as postgresql+asyncpg, which `.[all]` does not install.
    installed = {
        requirement.split("[")[0].split("=")[0]
        for extra in ("airflow", "postgres")
        for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ][extra]
    }
    airflow = [
        service
        for service in _our_services(_compose("compose.yaml")).values()
        if _executable_and_arguments(service)[0] == "airflow"
    ]
    assert airflow
    for service in airflow:
        environment = service["environment"]
        sync = environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert sync.startswith("postgresql+")
        scheme = sync.split(":", 1)[0]
        derived = "postgresql+asyncpg"
        async_scheme = environment.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", derived)
        for url_scheme in (scheme, async_scheme.split(":", 1)[0]):
            driver = url_scheme.split("+", 1)[1]
            assert driver in installed, f"{url_scheme}: the image has no {driver}"

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from market_predictor.cli._common import JsonOption, parse_date, run_command
from market_predictor.errors import InputError


def _app(work):  # type: ignore[no-untyped-def]
    app = typer.Typer()

    @app.command()
    def go(json_output: JsonOption = False) -> None:
        run_command(work, json_output)

    @app.command()
    def other() -> None:  # a second command keeps typer from collapsing to a single one
        pass

    return app


def test_input_error_exits_2_with_one_line_message() -> None:
    def work() -> dict[str, object]:
        raise InputError("start 2020-02-01 is after end 2020-01-01")

    result = CliRunner().invoke(_app(work), ["go"])
    assert result.exit_code == 2
    assert "start 2020-02-01 is after end 2020-01-01" in result.output
    assert "Traceback" not in result.output


def test_runtime_failure_exits_1() -> None:
    def work() -> dict[str, object]:
        raise RuntimeError("disk on fire")

    result = CliRunner().invoke(_app(work), ["go"])
    assert result.exit_code == 1
    assert "disk on fire" in result.output


def test_json_flag_prints_the_summary_as_json() -> None:
    result = CliRunner().invoke(_app(lambda: {"rows": 3}), ["go", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"rows": 3}


def test_summary_with_a_failed_step_exits_1() -> None:
    result = CliRunner().invoke(_app(lambda: {"failed_step": "predict"}), ["go", "--json"])
    assert result.exit_code == 1


def test_malformed_date_is_an_input_error() -> None:
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        parse_date("2020-13-45", "start")


def test_a_multi_line_failure_prints_its_first_line_only() -> None:
    def work() -> dict[str, object]:
        raise OSError("Generic delta kernel error\nStack backtrace:\n   0: rust_begin_unwind")

    result = CliRunner().invoke(_app(work), ["go"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["failed: OSError: Generic delta kernel error"]


def test_debug_mode_adds_the_traceback_and_keeps_the_exit_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MPP_DEBUG", "1")

    def work() -> dict[str, object]:
        raise InputError("bad date")

    result = CliRunner().invoke(_app(work), ["go"])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: bad date"


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_debug_mode_is_off_for_empty_or_false_values(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MPP_DEBUG", value)

    def work() -> dict[str, object]:
        raise RuntimeError("boom")

    result = CliRunner().invoke(_app(work), ["go"])
    assert "Traceback" not in result.stderr

"""Error types that entry points map to exit codes and HTTP statuses."""

from __future__ import annotations


class MPPError(Exception):
    """A runtime failure: the input was fine but the work could not be done (exit 1)."""


class InputError(MPPError):
    """Bad input from the user: a one-line message, nothing written (exit 2).

    `param` names the library parameter at fault, so each entry point can point at its
    own spelling of it (the CLI at a flag, the API at a query field).
    """

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class NotFoundError(InputError):
    """Something the user named does not exist (a symbol, a dataset version, a model)."""


def one_line(exc: BaseException) -> str:
    """`Type: first line of the message`. Native libraries append details on later
    lines (deltalake adds a Rust backtrace when RUST_BACKTRACE is set); a report or a
    terminal gets the sentence, `--verbose` the rest."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    name = type(exc).__name__
    return f"{name}: {lines[0]}" if lines else name

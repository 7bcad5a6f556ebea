"""Error types that entry points map to exit codes and HTTP statuses."""


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

"""Error types that entry points map to exit codes and HTTP statuses."""


class MPPError(Exception):
    """A runtime failure: the input was fine but the work could not be done (exit 1)."""


class InputError(MPPError):
    """Bad input from the user: a one-line message, nothing written (exit 2)."""


class NotFoundError(InputError):
    """Something the user named does not exist (a symbol, a dataset version, a model)."""

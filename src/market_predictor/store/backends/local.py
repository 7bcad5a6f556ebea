"""The embedded default: Delta tables in a folder on this machine."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from market_predictor.errors import InputError


class LocalBackend:
    def __init__(self, root: str) -> None:
        self.root = str(Path(root).expanduser().resolve())

    def storage_options(self) -> dict[str, str]:
        return {}

    def ensure_writable(self) -> None:
        root = Path(self.root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=root, prefix=".probe-"):
                pass
        except OSError as exc:
            raise InputError(f"store URI {self.root!r} is not writable: {exc.strerror}") from None
        if not os.access(root, os.W_OK):
            raise InputError(f"store URI {self.root!r} is not writable")

    def lock_path(self, table: str) -> str | None:
        locks = Path(self.root) / "_locks"
        locks.mkdir(parents=True, exist_ok=True)
        return str(locks / (table.replace("/", "__") + ".lock"))

"""Where the Delta tables live. One adapter per file, chosen by the store URI's scheme."""

from __future__ import annotations

from typing import Protocol

from market_predictor.errors import InputError


class StorageBackend(Protocol):
    root: str

    def storage_options(self) -> dict[str, str]:
        """Options handed to deltalake for every table under `root`."""
        ...

    def ensure_writable(self) -> None:
        """Fail with an InputError naming the URI when nothing can be written there."""
        ...

    def lock_path(self, table: str) -> str | None:
        """A local lock file serialising writers of `table`, or None when the
        object store's own conditional commits are the only guard."""
        ...


def backend_for(uri: str) -> StorageBackend:
    if uri.startswith("s3://") or uri.startswith("s3a://"):
        from market_predictor.store.backends.s3 import S3Backend

        return S3Backend(uri)
    if "://" in uri and not uri.startswith("file://"):
        raise InputError(f"unsupported store URI {uri!r}: use a local path or s3://bucket/prefix")
    from market_predictor.store.backends.local import LocalBackend

    return LocalBackend(uri.removeprefix("file://"))

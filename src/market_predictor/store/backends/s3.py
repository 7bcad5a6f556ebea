"""Delta tables on S3 or any S3-compatible store (MinIO, moto).

Credentials, region and endpoint come from the standard AWS variables
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL), so the
same code reaches AWS, MinIO or a local test server by configuration alone.
"""

from __future__ import annotations

import os
import uuid

from market_predictor.errors import InputError


class S3Backend:
    def __init__(self, root: str) -> None:
        self.root = root.replace("s3a://", "s3://", 1).rstrip("/")

    def storage_options(self) -> dict[str, str]:
        options: dict[str, str] = {
            # S3 has had atomic conditional writes since 2024; delta-rs uses them
            # for the commit, so no DynamoDB lock table is needed.
            "conditional_put": "etag",
        }
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            options["AWS_ENDPOINT_URL"] = endpoint
            if endpoint.startswith("http://"):
                options["AWS_ALLOW_HTTP"] = "true"
        options["AWS_REGION"] = os.environ.get(
            "AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        )
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            if os.environ.get(name):
                options[name] = os.environ[name]
        return options

    def ensure_writable(self) -> None:
        import pyarrow as pa
        from pyarrow import fs as pafs

        bucket, _, prefix = self.root.removeprefix("s3://").partition("/")
        if not bucket:
            raise InputError(f"store URI {self.root!r} names no bucket")
        options = self.storage_options()
        filesystem = pafs.S3FileSystem(
            endpoint_override=options.get("AWS_ENDPOINT_URL"),
            region=options["AWS_REGION"],
            access_key=options.get("AWS_ACCESS_KEY_ID"),
            secret_key=options.get("AWS_SECRET_ACCESS_KEY"),
            session_token=options.get("AWS_SESSION_TOKEN"),
            scheme="http" if options.get("AWS_ALLOW_HTTP") else "https",
            connect_timeout=5,
            request_timeout=10,
        )
        probe = f"{bucket}/{prefix}/.probe-{uuid.uuid4().hex}".replace("//", "/")
        try:
            with filesystem.open_output_stream(probe) as stream:
                stream.write(b"")
            filesystem.delete_file(probe)
        except (OSError, pa.ArrowException) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"store URI {self.root!r} is not writable: {first_line}") from None

    def lock_path(self, table: str) -> str | None:
        return None

from __future__ import annotations

import socket

import pytest


def test_tests_cannot_open_connections_beyond_loopback() -> None:
    # 192.0.2.1 is TEST-NET-1 (documentation only); the guard refuses before any packet.
    with pytest.raises(OSError, match=r"127\.0\.0\.1 only"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)


def test_loopback_connections_are_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass

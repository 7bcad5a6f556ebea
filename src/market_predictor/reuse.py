"""What one process keeps from one day to the next while it runs many days in a row
(a replay), and nothing outside that.

Each kind of reuse keeps its things in a dict of its own (`kept(kind)`), only inside
`across_days()`; outside it `kept` is None and every day reads afresh, as the daily job
does. Whatever is kept must give exactly the answers a fresh read gives, and must
notice what other processes changed in between: each kind checks the store (or the
file) it reads before trusting what it kept, rather than assuming nobody else writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_kept: dict[str, dict[Any, Any]] | None = None


@contextlib.contextmanager
def across_days() -> Iterator[None]:
    """Within the block, each kind of reuse keeps what it read for the next day."""
    global _kept
    outer = _kept
    _kept = {} if outer is None else outer
    try:
        yield
    finally:
        _kept = outer


def kept(kind: str) -> dict[Any, Any] | None:
    """The dict `kind` keeps things in inside `across_days()`; None outside it."""
    if _kept is None:
        return None
    return _kept.setdefault(kind, {})

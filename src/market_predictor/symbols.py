"""Ticker symbols: the one rule for what a symbol may look like."""

from __future__ import annotations

import re
from collections.abc import Iterable

from market_predictor.errors import InputError

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9^][A-Z0-9.=-]{0,14}$")


def normalise_symbol(raw: str) -> str:
    """Upper-case and check one symbol; path characters and overlong names are refused."""
    symbol = raw.strip().upper()
    if not SYMBOL_PATTERN.fullmatch(symbol):
        raise InputError(
            f"invalid symbol {raw!r}: use 1-15 characters from A-Z 0-9 . = - (may start with ^)"
        )
    return symbol


def parse_symbols(value: str | Iterable[str] | None) -> list[str] | None:
    """`"aapl, msft"` or an iterable -> ["AAPL", "MSFT"] (order kept, duplicates dropped)."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    symbols = [normalise_symbol(p) for p in parts if p.strip()]
    if not symbols:
        raise InputError("no symbols given")
    return list(dict.fromkeys(symbols))

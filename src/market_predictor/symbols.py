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


def checked_symbols(symbols: str | Iterable[str]) -> list[str]:
    """Symbols already parsed at an entry point, re-checked (not re-normalised) where the
    library takes them: a caller that skipped parsing gets the same clear error. A
    comma-separated string is parsed (never iterated character by character)."""
    if isinstance(symbols, str):
        return parse_symbols(symbols) or []
    checked = list(symbols)
    for symbol in checked:
        if not SYMBOL_PATTERN.fullmatch(symbol):
            normalise_symbol(symbol)  # raises the one message for a bad symbol
            raise InputError(f"symbol {symbol!r} is not normalised: use upper case")
    if not checked:
        raise InputError("no symbols given")
    return checked


def parse_symbols(value: str | Iterable[str] | None) -> list[str] | None:
    """`"aapl, msft"` or an iterable -> ["AAPL", "MSFT"] (order kept, duplicates dropped)."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    symbols = [normalise_symbol(p) for p in parts if p.strip()]
    if not symbols:
        raise InputError("no symbols given")
    return list(dict.fromkeys(symbols))

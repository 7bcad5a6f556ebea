from __future__ import annotations

import pytest

from market_predictor.errors import InputError
from market_predictor.symbols import checked_symbols, normalise_symbol, parse_symbols


@pytest.mark.parametrize("raw", ["aapl", "BRK-B", "^GSPC", "ES=F", "RDS.A"])
def test_valid_symbols_are_accepted_upper_case(raw: str) -> None:
    assert normalise_symbol(raw) == raw.upper()


@pytest.mark.parametrize("raw", ["../x", "a/b", "A" * 16, "", "AA PL", "-X"])
def test_path_characters_and_overlong_symbols_are_refused(raw: str) -> None:
    with pytest.raises(InputError):
        normalise_symbol(raw)


def test_parse_symbols_keeps_order_and_drops_duplicates() -> None:
    assert parse_symbols("msft, aapl,MSFT") == ["MSFT", "AAPL"]


def test_parse_symbols_refuses_an_empty_list() -> None:
    with pytest.raises(InputError, match="no symbols"):
        parse_symbols(" , ")


def test_library_check_refuses_unparsed_symbols_instead_of_normalising_them() -> None:
    with pytest.raises(InputError, match="not normalised"):
        checked_symbols(["aapl"])
    with pytest.raises(InputError, match="invalid symbol"):
        checked_symbols(["../etc"])
    with pytest.raises(InputError, match="no symbols"):
        checked_symbols([])


def test_library_check_parses_a_comma_string_rather_than_iterating_its_characters() -> None:
    assert checked_symbols("aapl, msft") == ["AAPL", "MSFT"]
    assert checked_symbols(["AAPL", "BRK-B"]) == ["AAPL", "BRK-B"]

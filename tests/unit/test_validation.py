from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from market_predictor.validation import REASONS, RELATIVE_TOLERANCE, _record, validate_prices
from tests.fixtures.data import price_rows

AS_OF = dt.date(2013, 3, 1)


def _one_bad(column: str, value: float) -> pd.DataFrame:
    rows = price_rows(days=3)
    rows.loc[1, column] = value
    return rows


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("close", 0.0, "non-positive price"),
        ("open", -3.0, "non-positive price"),
        ("low", np.nan, "non-finite price"),
        ("high", np.inf, "non-finite price"),
        ("high", 1.0, "high below open or close"),
        ("low", 1e6, "low above open or close"),
        ("volume", -1.0, "negative volume"),
        ("volume", np.nan, "non-finite volume"),
    ],
)
def test_row_breaking_the_contract_is_rejected_with_its_reason(
    column: str, value: float, reason: str
) -> None:
    valid, rejected = validate_prices(_one_bad(column, value), AS_OF)
    assert len(valid) == 2
    assert list(rejected["reason"]) == [reason]
    assert rejected.iloc[0]["date"] == price_rows(days=3).iloc[1]["date"]


def test_real_sample_rows_all_pass() -> None:
    rows = price_rows(days=200, start="2012-01-01")
    valid, rejected = validate_prices(rows, AS_OF)
    assert len(valid) == 200
    assert rejected.empty


def test_rows_after_the_as_of_date_are_future_dates() -> None:
    rows = price_rows(days=5, start="2013-02-25")
    valid, rejected = validate_prices(rows, dt.date(2013, 2, 27))
    assert valid["date"].max() == pd.Timestamp("2013-02-27")
    assert set(rejected["reason"]) == {"future date"}
    assert len(rejected) == 2


def test_identical_duplicate_rows_collapse_to_one() -> None:
    rows = price_rows(days=3)
    valid, rejected = validate_prices(pd.concat([rows, rows.iloc[[0]]]), AS_OF)
    assert len(valid) == 3
    assert rejected.empty


def test_conflicting_duplicate_keys_are_all_rejected() -> None:
    rows = price_rows(days=3)
    restated = rows.iloc[[0]].assign(close=rows.iloc[0]["close"] * 1.001)
    restated["high"] = restated[["high", "close"]].max(axis=1)
    valid, rejected = validate_prices(pd.concat([rows, restated]), AS_OF)
    assert len(valid) == 2
    assert list(rejected["reason"]) == ["duplicate key", "duplicate key"]


def test_row_failing_several_rules_gets_the_first_reason_in_priority_order() -> None:
    rows = price_rows(days=2)
    rows.loc[0, ["open", "volume"]] = [-1.0, -1.0]
    _, rejected = validate_prices(rows, AS_OF)
    assert list(rejected["reason"]) == ["non-positive price"]
    assert REASONS.index("non-positive price") < REASONS.index("negative volume")


def test_adjustment_rounding_is_not_mistaken_for_a_broken_bar() -> None:
    rows = price_rows(days=1)
    rows.loc[0, "low"] = rows.loc[0, "close"] * (1 + 1e-15)
    valid, _ = validate_prices(rows, AS_OF)
    assert len(valid) == 1


TICK = 0.01


def _bar(open_: float, high: float, low: float, close: float, volume: float = 1e6) -> pd.DataFrame:
    rows = price_rows(days=1)
    rows.loc[0, ["open", "high", "low", "close", "volume"]] = [open_, high, low, close, volume]
    return rows


def _reasons(rows: pd.DataFrame) -> list[str]:
    return list(validate_prices(rows, AS_OF)[1]["reason"])


@pytest.mark.parametrize(
    ("open_", "close"), [(100.0, 101.0), (101.0, 100.0)], ids=["up day", "down day"]
)
def test_high_equal_to_the_higher_of_open_and_close_is_valid(open_: float, close: float) -> None:
    assert _reasons(_bar(open_, max(open_, close), 99.0, close)) == []


@pytest.mark.parametrize(
    ("open_", "close"), [(100.0, 101.0), (101.0, 100.0)], ids=["up day", "down day"]
)
def test_high_one_tick_below_open_or_close_is_quarantined(open_: float, close: float) -> None:
    high = max(open_, close) - TICK
    assert _reasons(_bar(open_, high, 99.0, close)) == ["high below open or close"]


@pytest.mark.parametrize(
    ("open_", "close"), [(100.0, 101.0), (101.0, 100.0)], ids=["up day", "down day"]
)
def test_low_equal_to_the_lower_of_open_and_close_is_valid(open_: float, close: float) -> None:
    assert _reasons(_bar(open_, 102.0, min(open_, close), close)) == []


@pytest.mark.parametrize(
    ("open_", "close"), [(100.0, 101.0), (101.0, 100.0)], ids=["up day", "down day"]
)
def test_low_one_tick_above_open_or_close_is_quarantined(open_: float, close: float) -> None:
    # Between open and close: above the lower of the two, below the higher.
    low = min(open_, close) + TICK
    assert _reasons(_bar(open_, 102.0, low, close)) == ["low above open or close"]


def test_a_flat_bar_where_every_price_is_equal_is_valid() -> None:
    assert _reasons(_bar(100.0, 100.0, 100.0, 100.0)) == []


def test_high_rounding_below_the_close_is_not_mistaken_for_a_broken_bar() -> None:
    assert _reasons(_bar(99.0, 100.0 * (1 - 1e-15), 98.0, 100.0)) == []


def test_zero_volume_is_valid_and_the_smallest_negative_volume_is_not() -> None:
    assert _reasons(_bar(100.0, 101.0, 99.0, 100.5, volume=0.0)) == []
    assert _reasons(_bar(100.0, 101.0, 99.0, 100.5, volume=-TICK)) == ["negative volume"]


@pytest.mark.parametrize("column", ["open", "high", "low", "close"])
def test_the_smallest_positive_price_is_valid_and_zero_is_not(column: str) -> None:
    tiny = _bar(TICK, TICK, TICK, TICK)
    assert _reasons(tiny) == []
    tiny.loc[0, column] = 0.0
    assert _reasons(tiny)[0] in ("non-positive price", "high below open or close")


def test_a_row_dated_on_the_as_of_day_is_valid_and_the_next_day_is_future() -> None:
    rows = price_rows(days=2, start="2013-02-28")  # 28 Feb and 1 Mar 2013
    valid, rejected = validate_prices(rows, dt.date(2013, 2, 28))
    assert list(valid["date"]) == [pd.Timestamp("2013-02-28")]
    assert list(rejected["reason"]) == ["future date"]


@pytest.mark.parametrize("symbol", ["aapl", "", "A B", "../X"])
def test_a_malformed_symbol_is_quarantined(symbol: str) -> None:
    rows = price_rows(days=2)
    rows.loc[0, "symbol"] = symbol
    assert _reasons(rows) == ["invalid symbol"]


def test_a_row_without_a_date_is_quarantined() -> None:
    rows = price_rows(days=2)
    rows.loc[0, "date"] = pd.NaT
    assert _reasons(rows) == ["missing date"]


def test_rejected_rows_keep_every_source_column_and_valid_rows_are_renumbered() -> None:
    rows = _one_bad("volume", -1.0)
    valid, rejected = validate_prices(rows, AS_OF)
    assert list(valid.index) == [0, 1]
    assert list(rejected.index) == [0]
    assert list(rejected.columns) == [*rows.columns, "reason"]
    pd.testing.assert_frame_equal(valid, rows.drop(index=1).reset_index(drop=True))


def test_a_frame_missing_a_price_column_is_a_bug_not_bad_data() -> None:
    with pytest.raises(ValueError, match=r"does not fit the contract at all: \['"):
        validate_prices(price_rows(days=2).drop(columns="volume"), AS_OF)


def test_an_infinite_volume_is_a_non_finite_volume() -> None:
    assert _reasons(_bar(100.0, 101.0, 99.0, 100.5, volume=np.inf)) == ["non-finite volume"]


def test_prices_exactly_at_the_rounding_tolerance_are_valid() -> None:
    # The tolerance is the boundary: a bar inside it passes, whatever its size.
    high = 100.0 * (1 - RELATIVE_TOLERANCE)
    low = 99.0 * (1 + RELATIVE_TOLERANCE)
    assert _reasons(_bar(99.0, high, 98.0, 100.0)) == []
    assert _reasons(_bar(99.0, 101.0, low, 100.0)) == []


@pytest.mark.parametrize("column", ["open", "volume"])
def test_a_wrongly_typed_column_is_a_bug_not_bad_data(column: str) -> None:
    rows = price_rows(days=3)
    rows[column] = rows[column].astype("int64")
    with pytest.raises(ValueError, match=r"does not fit the contract"):
        validate_prices(rows, AS_OF)
    rows.loc[1, "high"] = -1  # a row-level failure beside the type failure: still a bug
    with pytest.raises(ValueError, match=r"does not fit the contract at all: \["):
        validate_prices(rows, AS_OF)


@pytest.mark.parametrize("column", ["symbol", "date"])
def test_a_wrongly_typed_key_column_is_a_bug_not_bad_data(column: str) -> None:
    rows = price_rows(days=2)
    rows[column] = [1, 2]
    with pytest.raises(ValueError, match="does not fit the contract"):
        validate_prices(rows, AS_OF)


def test_a_failed_check_that_names_no_listed_reason_is_a_bug_not_a_quarantine() -> None:
    reasons = pd.Series(pd.NA, index=range(2), dtype="object")
    cases = pd.DataFrame({"index": [1], "check": ["mystery check"], "column": ["open"]})
    with pytest.raises(ValueError, match=r"does not fit the contract: \['mystery check'\]"):
        _record(reasons, cases)
    assert reasons.isna().all()


def test_a_symbol_column_that_is_not_text_is_a_bug_even_if_its_values_look_right() -> None:
    # A categorical column (what a dictionary-encoded Parquet column reads back as).
    rows = price_rows(days=2).astype({"symbol": "category"})
    with pytest.raises(ValueError, match="does not fit the contract at all"):
        validate_prices(rows, AS_OF)


def test_dates_given_as_text_are_a_type_bug_named_as_such() -> None:
    rows = price_rows(days=2)
    rows["date"] = rows["date"].dt.strftime("%Y-%m-%d")
    with pytest.raises(ValueError, match=r"does not fit the contract at all: .*datetime64"):
        validate_prices(rows, AS_OF)

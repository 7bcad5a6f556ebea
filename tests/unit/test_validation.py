from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from market_predictor.validation import REASONS, validate_prices
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

"""Composite-key matching: the same answer as a pandas merge, however many distinct
values the key columns hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from market_predictor.store.keys import keys_in


def _merged(rows: pd.DataFrame, other: pd.DataFrame, keys: list[str]) -> np.ndarray:
    marked = rows.merge(other[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    return (marked["_merge"] == "both").to_numpy()


def test_a_row_matches_only_when_every_key_column_matches() -> None:
    rows = pd.DataFrame({"s": ["A", "A", "B", "B"], "d": [1, 2, 1, 2], "v": ["1", "1", "1", "2"]})
    other = pd.DataFrame({"s": ["A", "B", "C"], "d": [2, 1, 2], "v": ["1", "2", "1"]})
    found = keys_in(pa.table(rows), pa.table(other), ["s", "d", "v"])
    assert found.tolist() == [False, True, False, False]
    assert found.tolist() == _merged(rows, other, ["s", "d", "v"]).tolist()


def test_nulls_match_nulls_as_in_a_pandas_merge() -> None:
    rows = pa.table({"s": ["A", None, "B"], "d": [1, 1, None]})
    other = pa.table({"s": [None, "B"], "d": [1, None]})
    assert keys_in(rows, other, ["s", "d"]).tolist() == [False, True, True]


def test_keys_wider_than_one_integer_still_match_exactly() -> None:
    # Ten columns of 200 distinct values need 80 bits: the codes are renumbered, so the
    # first column's difference is not shifted out of the integer.
    rng = np.random.default_rng(3)
    columns = [f"k{i}" for i in range(10)]
    rows = pd.DataFrame({c: rng.integers(0, 200, 400) for c in columns}).astype(str)
    same = rows.iloc[:150]
    first_differs = rows.iloc[150:300].assign(k0=lambda f: f["k0"] + "x")
    other = pd.concat([same, first_differs], ignore_index=True)
    found = keys_in(pa.table(rows), pa.table(other), columns)
    assert found[:150].all() and not found[150:].any()
    assert found.tolist() == _merged(rows, other, columns).tolist()

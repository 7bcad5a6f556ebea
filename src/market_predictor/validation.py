"""The price-row contract, as a pandera schema, and the split into loadable and
quarantined rows.

A row is loadable when its prices are finite and positive, high is the session's
highest price and low its lowest, volume is finite and not negative, its date is not
after the run's as-of date, and no other row in the batch claims its (symbol, date)
with different values. Every other row is kept with the reason it failed, so nothing
is silently dropped.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pandera.pandas as pa

from market_predictor.symbols import SYMBOL_PATTERN

PRICE_FIELDS = ("open", "high", "low", "close")
# Adjusting scales each price by adj_close/close, so a low that equalled the close can
# land one rounding step above the adjusted close. Real breaks are far larger than this.
RELATIVE_TOLERANCE = 1e-9

# When a row breaks several rules it is quarantined under the first one listed here.
REASONS = (
    "invalid symbol",
    "missing date",
    "non-finite price",
    "non-positive price",
    "high below open or close",
    "low above open or close",
    "non-finite volume",
    "negative volume",
    "future date",
    "duplicate key",
)
# pandera's built-in check for nulls, reported under our own reason per column.
_NULL_REASONS = {
    "symbol": "invalid symbol",
    "date": "missing date",
    **dict.fromkeys(PRICE_FIELDS, "non-finite price"),
    "volume": "non-finite volume",
}


def price_schema(as_of: dt.date) -> pa.DataFrameSchema:
    """The contract of a daily price row as of `as_of` (checks are named by reason)."""
    last_day = pd.Timestamp(as_of)

    def finite(series: pd.Series) -> pd.Series:
        return pd.Series(np.isfinite(series.to_numpy(dtype="float64")), index=series.index)

    price_checks = [
        pa.Check(finite, name="non-finite price"),
        pa.Check(lambda s: s > 0, name="non-positive price"),
    ]
    return pa.DataFrameSchema(
        {
            "symbol": pa.Column(
                str,
                pa.Check(
                    lambda s: s.str.fullmatch(SYMBOL_PATTERN.pattern).fillna(False),
                    name="invalid symbol",
                ),
            ),
            "date": pa.Column(
                "datetime64[ns]", pa.Check(lambda s: s <= last_day, name="future date")
            ),
            **{field: pa.Column(float, price_checks) for field in PRICE_FIELDS},
            "volume": pa.Column(
                float,
                [
                    pa.Check(finite, name="non-finite volume"),
                    pa.Check(lambda s: s >= 0, name="negative volume"),
                ],
            ),
        },
        checks=[
            pa.Check(
                lambda f: (
                    ~(f["high"] < np.maximum(f["open"], f["close"]) * (1 - RELATIVE_TOLERANCE))
                ),
                name="high below open or close",
            ),
            pa.Check(
                lambda f: (
                    ~(f["low"] > np.minimum(f["open"], f["close"]) * (1 + RELATIVE_TOLERANCE))
                ),
                name="low above open or close",
            ),
        ],
        strict=False,
        coerce=False,
    )


def validate_prices(frame: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a source frame into (valid rows, rejected rows with a `reason` column).

    Exact duplicate rows collapse to one; rows that share a key but disagree are all
    rejected ("duplicate key"), since nothing says which of them is right.
    """
    frame = frame.drop_duplicates(ignore_index=True)
    reasons = pd.Series(pd.NA, index=frame.index, dtype="object")
    try:
        price_schema(as_of).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        _record(reasons, errors.failure_cases)
    duplicated = frame.duplicated(["symbol", "date"], keep=False)
    reasons = reasons.where(reasons.notna() | ~duplicated, "duplicate key")

    rejected_mask = reasons.notna().to_numpy()
    valid = frame.loc[~rejected_mask].reset_index(drop=True)
    rejected = frame.loc[rejected_mask].copy()
    rejected["reason"] = reasons[rejected_mask].astype("str")
    return valid, rejected.reset_index(drop=True)


def _record(reasons: pd.Series, failure_cases: pd.DataFrame) -> None:
    """Write each failing row's highest-priority reason into `reasons`."""
    # A failure of no particular row (a missing column, a wrong dtype) means a source
    # broke the frame's shape: a bug, even when some rows also fail data checks.
    shape = failure_cases[failure_cases["index"].isna()]
    if not shape.empty:
        unexpected = shape["check"].astype("str").unique().tolist()
        raise ValueError(f"price frame does not fit the contract at all: {unexpected}")
    cases = failure_cases.astype({"index": "int64"})
    names = cases["check"].astype("str")
    nulls = names == "not_nullable"
    names = names.where(~nulls, cases["column"].map(_NULL_REASONS))
    unknown = sorted(set(names.dropna()) - set(REASONS))
    if unknown:
        # A check whose name is no listed reason: the schema and REASONS disagree (a bug).
        raise ValueError(f"price frame does not fit the contract: {unknown}")
    priority = names.map({reason: rank for rank, reason in enumerate(REASONS)})
    best = (
        pd.DataFrame({"index": cases["index"], "priority": priority})
        .groupby("index")["priority"]
        .min()
    )
    reasons.loc[best.index] = [REASONS[int(rank)] for rank in best.to_numpy()]

from __future__ import annotations

import numpy as np
import pandas as pd

from market_predictor.features import (
    FEATURE_COLUMNS,
    TARGET,
    WARMUP_ROWS,
    build_features,
    complete_rows,
)
from tests.fixtures.ml import sample_prices


def _features_through(features: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    kept = features[features["date"] <= day].reset_index(drop=True)
    return kept[["symbol", "date", *FEATURE_COLUMNS]]


def test_features_at_a_day_ignore_rows_added_after_it() -> None:
    prices = sample_prices(("AAPL", "MSFT"), "2011-01-01", "2011-12-31")
    cut = pd.Timestamp("2011-09-30")
    known = prices[prices["date"] <= cut]
    before = _features_through(build_features(known), cut)
    after = _features_through(build_features(prices), cut)
    pd.testing.assert_frame_equal(before, after)


def test_features_at_a_day_ignore_later_rows_being_altered() -> None:
    prices = sample_prices(("AAPL",), "2011-01-01", "2011-12-31")
    cut = pd.Timestamp("2011-06-30")
    altered = prices.copy()
    later = altered["date"] > cut
    for column in ("open", "high", "low", "close"):
        altered.loc[later, column] *= 3.0
    altered.loc[later, "volume"] = 1.0
    pd.testing.assert_frame_equal(
        _features_through(build_features(prices), cut),
        _features_through(build_features(altered), cut),
    )


def test_target_is_the_next_days_log_return_and_last_row_has_none() -> None:
    prices = sample_prices(("IBM",), "2012-01-01", "2012-03-31")
    features = build_features(prices)
    expected = np.log(prices["close"].shift(-1) / prices["close"])
    np.testing.assert_allclose(features[TARGET].iloc[:-1], expected.iloc[:-1])
    assert np.isnan(features[TARGET].iloc[-1])


def test_features_are_complete_exactly_after_the_warm_up() -> None:
    features = build_features(sample_prices(("AAPL", "MSFT"), "2012-01-01", "2012-06-30"))
    position = features.groupby("symbol").cumcount()
    complete = complete_rows(features)
    assert not complete[position < WARMUP_ROWS - 1].any()
    assert complete[position >= WARMUP_ROWS - 1].all()


def test_features_do_not_depend_on_the_price_level() -> None:
    prices = sample_prices(("MSFT",), "2012-01-01", "2012-06-30")
    scaled = prices.copy()
    for column in ("open", "high", "low", "close"):
        scaled[column] *= 100.0
    a = build_features(prices)[FEATURE_COLUMNS]
    b = build_features(scaled)[FEATURE_COLUMNS]
    pd.testing.assert_frame_equal(a, b, atol=1e-12, rtol=0)


def test_a_frame_built_in_batches_of_symbols_has_the_features_of_one_build() -> None:
    from tests.fixtures.ml import synthetic_prices

    prices = synthetic_prices(("CCC", "AAA", "BBB"), days=120).sample(frac=1.0, random_state=1)
    whole = build_features(prices, (1, 5, 21))
    for batch_rows in (1, 120, 121):  # one symbol a batch; a batch full at 120 rows; two
        batched = build_features(prices, (1, 5, 21), batch_rows=batch_rows)
        pd.testing.assert_frame_equal(batched, whole, check_exact=True)

"""A retrain can put two model versions on the same day: each keeps its own forecast
and its own realised error, and monitoring scores the one that was served last."""

from __future__ import annotations

import datetime as dt

from market_predictor.config import Settings
from market_predictor.ingest import ingest_prices
from market_predictor.registry import load_champion, register_baseline
from market_predictor.store import FeatureStore
from tests.fixtures.ops import OPS_SYMBOLS, TRAINED_UNTIL, monitor_as_of, predict_as_of

NEXT_DAY = dt.date(2012, 12, 3)


def test_two_versions_forecasting_the_same_day_keep_both_rows(ops_home: Settings) -> None:
    first = predict_as_of(ops_home, as_of=TRAINED_UNTIL)
    second_version = register_baseline(ops_home, trained_until=TRAINED_UNTIL)
    assert load_champion(ops_home).version == second_version != first.model_version
    second = predict_as_of(ops_home, as_of=TRAINED_UNTIL)

    assert (second.inserted, second.updated) == (len(OPS_SYMBOLS), 0)
    predictions = FeatureStore.from_settings(ops_home).predictions.read()
    assert len(predictions) == 2 * len(OPS_SYMBOLS)
    by_version = predictions.groupby("model_version")["symbol"].apply(sorted).to_dict()
    assert by_version == {
        first.model_version: sorted(OPS_SYMBOLS),
        second_version: sorted(OPS_SYMBOLS),
    }

    ingest_prices(ops_home, start=NEXT_DAY, as_of=NEXT_DAY)
    result = monitor_as_of(ops_home, as_of=NEXT_DAY)
    assert result.new_errors == 2 * len(OPS_SYMBOLS)
    errors = FeatureStore.from_settings(ops_home).errors.read()
    assert sorted(errors["model_version"]) == sorted(
        [first.model_version, second_version] * len(OPS_SYMBOLS)
    )
    # The served forecast of the day is the newer version's: one error per symbol counts.
    assert {row.n for row in result.symbols.values()} == {1}
    summary = FeatureStore.from_settings(ops_home).summary.read()
    assert set(summary["model_version"]) == {second_version}

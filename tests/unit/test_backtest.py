"""Walk-forward harness on real sample rows with the naive baselines (no network, fast)."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import numpy as np
import pandas as pd
import pytest

from market_predictor.backtest import (
    MIN_TRAINING_ROWS,
    Fold,
    RetrainEvery,
    baseline_factories,
    fold_schedule,
    fold_validation_start,
    parse_retrain_every,
    usable_rows,
    walk_forward,
    with_combined,
)
from market_predictor.errors import InputError
from market_predictor.models.baselines import PersistenceForecaster
from market_predictor.sources.sample import load_sample_prices
from market_predictor.training.evaluate import attach_outcomes

START = dt.date(2012, 7, 1)
END = dt.date(2012, 12, 31)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    sample = load_sample_prices()
    keep = sample["symbol"].isin(["AAPL", "IBM"]) & sample["date"].between(
        pd.Timestamp("2010-01-01"), pd.Timestamp("2013-03-01")
    )
    return sample.loc[keep].reset_index(drop=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3M", RetrainEvery(3, "M")),
        ("1m", RetrainEvery(1, "M")),
        ("6M", RetrainEvery(6, "M")),
        ("2W", RetrainEvery(2, "W")),
        (" 12M ", RetrainEvery(12, "M")),
    ],
)
def test_retrain_period_parses_months_and_weeks(text: str, expected: RetrainEvery) -> None:
    assert parse_retrain_every(text) == expected


@pytest.mark.parametrize("text", ["3X", "0M", "M", "", "3", "-1M", "1.5M", "3 months", "2D"])
def test_retrain_period_not_like_3m_or_2w_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="retrain_every"):
        parse_retrain_every(text)


def test_folds_tile_the_range_without_gaps_or_overlap() -> None:
    folds = fold_schedule(dt.date(2012, 1, 1), dt.date(2012, 12, 31), RetrainEvery(3, "M"))
    assert [f.start for f in folds] == [
        dt.date(2012, 1, 1),
        dt.date(2012, 4, 1),
        dt.date(2012, 7, 1),
        dt.date(2012, 10, 1),
    ]
    assert folds[-1].end == dt.date(2012, 12, 31)
    for before, after in itertools.pairwise(folds):
        assert after.start - before.end == dt.timedelta(days=1)


def test_weekly_folds_are_two_weeks_long() -> None:
    folds = fold_schedule(dt.date(2012, 1, 2), dt.date(2012, 1, 31), RetrainEvery(2, "W"))
    assert [(f.start, f.end) for f in folds] == [
        (dt.date(2012, 1, 2), dt.date(2012, 1, 15)),
        (dt.date(2012, 1, 16), dt.date(2012, 1, 29)),
        (dt.date(2012, 1, 30), dt.date(2012, 1, 31)),
    ]


def test_no_fold_starts_on_the_end_date_where_nothing_can_be_scored() -> None:
    folds = fold_schedule(dt.date(2010, 3, 1), dt.date(2013, 3, 1), RetrainEvery(3, "M"))
    assert len(folds) == 12
    assert folds[-1] == Fold(dt.date(2012, 12, 1), dt.date(2013, 3, 1))


def test_start_after_end_is_an_input_error() -> None:
    with pytest.raises(InputError, match="after"):
        fold_schedule(dt.date(2013, 1, 2), dt.date(2013, 1, 1), RetrainEvery(1, "M"))


def test_each_fold_is_fitted_only_on_rows_before_its_start(prices: pd.DataFrame) -> None:
    seen: list[tuple[Fold, pd.Timestamp]] = []

    def recording(rows: pd.DataFrame, fold: Fold) -> PersistenceForecaster:
        seen.append((fold, pd.to_datetime(rows["date"]).max()))
        return PersistenceForecaster().fit(rows)

    result = walk_forward(
        prices,
        start=START,
        end=END,
        retrain_every=RetrainEvery(2, "M"),
        factories={"recording": recording},
    )
    assert [fold for fold, _ in seen] == result.folds
    assert len(seen) == 3
    for fold, last_training_day in seen:
        assert last_training_day < pd.Timestamp(fold.start)
        # Expanding window: the training rows reach right up to the fold.
        assert (pd.Timestamp(fold.start) - last_training_day).days <= 4


def test_forecasts_are_scored_against_the_next_stored_close(prices: pd.DataFrame) -> None:
    result = walk_forward(
        prices,
        start=START,
        end=END,
        retrain_every=RetrainEvery(3, "M"),
        factories=baseline_factories(kinds=("persistence", "drift", "garch")),
    )
    persistence = result.forecasts[result.forecasts["forecaster"] == "persistence"]
    closes = prices.set_index(["symbol", "date"])["close"]
    sample = persistence.iloc[::37]
    for row in sample.itertuples():
        assert row.actual_close == closes[(row.symbol, row.target_date)]
        assert row.last_close == closes[(row.symbol, row.as_of_date)]
        following = prices[(prices["symbol"] == row.symbol) & (prices["date"] > row.as_of_date)]
        assert row.target_date == following["date"].min()
    np.testing.assert_allclose(persistence["predicted_close"], persistence["last_close"])
    assert persistence["as_of_date"].min() >= pd.Timestamp(START)
    assert persistence["as_of_date"].max() < pd.Timestamp(END)


def test_forecast_on_the_last_day_has_no_outcome_and_is_not_scored(prices: pd.DataFrame) -> None:
    end = dt.date(2012, 12, 31)
    result = walk_forward(
        prices,
        start=dt.date(2012, 12, 1),
        end=end,
        retrain_every=RetrainEvery(1, "M"),
        factories=baseline_factories(kinds=("persistence", "drift", "garch")),
    )
    # Rows after the as-of cut exist in `prices` but must not be used as outcomes.
    assert result.forecasts["target_date"].max() <= pd.Timestamp(end)
    assert pd.Timestamp(end) not in set(result.forecasts["as_of_date"])


def test_table_has_every_forecaster_per_symbol_and_overall(prices: pd.DataFrame) -> None:
    result = walk_forward(
        prices,
        start=START,
        end=END,
        retrain_every=RetrainEvery(3, "M"),
        factories=baseline_factories(kinds=("persistence", "drift", "garch")),
    )
    assert set(zip(result.table["forecaster"], result.table["symbol"], strict=True)) == {
        (name, symbol)
        for name in ("persistence", "drift", "garch")
        for symbol in ("AAPL", "IBM", "ALL")
    }
    persistence = result.metrics("persistence")
    drift = result.metrics("drift")
    assert persistence["mase"] == pytest.approx(1.0)
    assert persistence["n"] == drift["n"]
    assert 0.6 < persistence["coverage"] < 0.95
    assert drift["mase"] == pytest.approx(1.0, abs=0.05)


def test_all_pools_only_the_days_every_forecaster_forecasts(prices: pd.DataFrame) -> None:
    # NEW is listed 24 trading days before the end: persistence (22 rows of history)
    # forecasts its last three days, log-HAR (23) its last two; the last has no outcome.
    ibm = prices[(prices["symbol"] == "IBM") & (prices["date"] <= pd.Timestamp(END))]
    young = ibm.tail(24).assign(symbol="NEW")
    result = walk_forward(
        pd.concat([prices, young], ignore_index=True),
        start=START,
        end=END,
        retrain_every=RetrainEvery(3, "M"),
        factories=baseline_factories(kinds=("persistence", "har")),
    )
    persistence, har = result.metrics("persistence"), result.metrics("har")
    assert result.metrics("persistence", "NEW")["n"] == 2
    assert result.metrics("har", "NEW")["n"] == 1
    assert (
        persistence["n"]
        == har["n"]
        == sum(result.metrics("har", symbol)["n"] for symbol in ("AAPL", "IBM", "NEW"))
    )
    own_rows = result.forecasts[result.forecasts["forecaster"] == "persistence"]
    assert persistence["n"] == len(own_rows.dropna(subset=["actual_close"])) - 1


def test_summary_is_strict_json_with_nested_metrics(prices: pd.DataFrame) -> None:
    result = walk_forward(
        prices,
        start=START,
        end=END,
        retrain_every=RetrainEvery(3, "M"),
        factories=baseline_factories(kinds=("persistence", "drift", "garch")),
    )
    summary = json.loads(json.dumps(result.report().model_dump(mode="json"), allow_nan=False))
    assert summary["forecasters"] == ["persistence", "drift", "garch"]
    assert summary["retrain_every"] == "3M"
    assert len(summary["folds"]) == 2
    # Persistence calls no direction, so its directional accuracy is null, not NaN.
    assert summary["metrics"]["persistence"]["ALL"]["directional_accuracy"] is None
    assert summary["metrics"]["drift"]["IBM"]["mase"] > 0


def test_outcomes_join_drops_forecasts_whose_next_day_is_not_stored() -> None:
    prices = pd.DataFrame(
        {
            "symbol": ["A", "A", "A", "B", "B"],
            "date": pd.to_datetime(
                ["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-02", "2020-01-03"]
            ),
            "close": [1.0, 2.0, 3.0, 10.0, 11.0],
        }
    )
    forecasts = pd.DataFrame(
        {
            "symbol": ["A", "A", "B", "B"],
            "as_of_date": pd.to_datetime(["2020-01-03", "2020-01-06", "2020-01-02", "2020-01-03"]),
            "last_close": [2.0, 3.0, 10.0, 11.0],
        }
    )
    joined = attach_outcomes(forecasts, prices)
    assert joined["actual_close"].tolist() == [3.0, 11.0]
    assert joined["target_date"].tolist() == [
        pd.Timestamp("2020-01-06"),
        pd.Timestamp("2020-01-03"),
    ]


def test_validation_split_is_skipped_when_it_would_starve_the_fit(prices: pd.DataFrame) -> None:
    start = dt.date(2012, 7, 1)
    rows = prices[prices["date"] < pd.Timestamp(start)]
    assert fold_validation_start(rows, start, 6) == dt.date(2012, 1, 1)
    assert fold_validation_start(rows, start, 0) is None
    # Two symbols x four months before the split: fewer usable rows than a fit needs.
    short = rows[rows["date"] >= pd.Timestamp("2011-09-01")]
    assert usable_rows(short[short["date"] < pd.Timestamp("2012-01-01")]) < MIN_TRAINING_ROWS
    assert fold_validation_start(short, start, 6) is None


def test_the_combined_column_averages_each_folds_own_lead_and_best_rival(
    prices: pd.DataFrame,
) -> None:
    # Drift stands in for the network (no network fit in a unit test).
    kinds = ("drift", "persistence", "garch")
    inner = baseline_factories(held_out_months=3, kinds=kinds)
    fits: list[tuple[str, Fold]] = []

    def counted(name: str):  # type: ignore[no-untyped-def]
        def fit(rows: pd.DataFrame, fold: Fold):  # type: ignore[no-untyped-def]
            fits.append((name, fold))
            return inner[name](rows, fold)

        return fit

    factories = with_combined({k: counted(k) for k in kinds}, "drift", held_out_months=3)
    assert list(factories) == [*kinds, "combined"]
    result = walk_forward(
        prices, start=START, end=END, retrain_every=RetrainEvery(3, "M"), factories=factories
    )
    # Every factory fitted once per fold, the combination made of those very fits.
    assert sorted(fits, key=str) == sorted(
        ((k, fold) for k in kinds for fold in result.folds), key=str
    )
    forecasts = result.forecasts.set_index(["forecaster", "symbol", "as_of_date"])

    def log_quantiles(name: str, keys: pd.Index, column: str) -> np.ndarray:
        rows = forecasts.loc[name].loc[keys]
        return np.log(rows[column] / rows["last_close"]).to_numpy()

    for fold in result.folds:
        combined = forecasts.loc["combined"]
        keys = combined.index[combined["fold_start"] == pd.Timestamp(fold.start)]
        matches = [
            partner
            for partner in ("persistence", "garch")
            if all(
                np.allclose(
                    log_quantiles("combined", keys, column),
                    (log_quantiles("drift", keys, column) + log_quantiles(partner, keys, column))
                    / 2,
                    rtol=1e-9,
                    atol=1e-12,
                )
                for column in ("predicted_close", "lower", "upper")
            )
        ]
        assert len(matches) == 1, fold

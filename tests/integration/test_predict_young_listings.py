"""The daily job with a GARCH champion: a symbol listed a few weeks ago is forecast, and
every served forecast is the one a backtest makes on the symbol's full history."""

from __future__ import annotations

import pandas as pd
import pytest

from market_predictor.config import Settings
from market_predictor.day import resolve_day
from market_predictor.inference import predict
from market_predictor.models.garch import GarchForecaster
from market_predictor.registry import load_champion, register_rival
from market_predictor.store import FeatureStore
from market_predictor.store.predictions import PRICE_DECIMALS
from tests.fixtures.ml import garch_prices, store_prices


def _listed(symbol: str, rows: int, end: pd.Timestamp, seed: int) -> pd.DataFrame:
    """`rows` business days of `symbol`, the last on `end`."""
    listed = garch_prices(symbols=[symbol], days=rows, seed=seed)
    return listed.assign(date=listed["date"] + (end - listed["date"].max()))


def test_a_garch_champion_forecasts_a_symbol_listed_30_rows_ago_as_a_backtest_does(
    mlflow_home: Settings,
) -> None:
    mature = garch_prices(days=400)
    end = pd.Timestamp(mature["date"].max())
    # GAP is mature but was halted for half a year: its recent window holds too few rows
    # for the forecast to be the full history's unless the job reads further back.
    gap = _listed("GAP", 400, end, seed=3)
    gap = gap[~gap["date"].between(end - pd.offsets.BDay(136), end - pd.offsets.BDay(10))]
    prices = pd.concat(
        [mature, gap, _listed("NEW", 30, end, seed=5), _listed("SHORT", 21, end, seed=7)],
        ignore_index=True,
    )
    store_prices(mlflow_home, prices)
    garch = GarchForecaster().fit(mature)
    register_rival(
        mlflow_home, None, garch, promote=True, trained_until=end.date(), profile_rows=mature
    )
    champion = load_champion(mlflow_home)
    assert (champion.min_history, champion.read_rows) == (22, 126)

    symbols = ["GGG", "GAP", "NEW", "SHORT"]
    batch = predict(resolve_day(mlflow_home, as_of=end.date(), symbols=symbols))

    assert batch.skipped == {"SHORT": "too little history: 21 rows, the model needs 22"}
    served = pd.DataFrame([f.model_dump() for f in batch.predictions]).set_index("symbol")
    stored = FeatureStore.from_settings(mlflow_home).prices().read(end=end.date())
    backtest = garch.predict_range(stored, start=end, end=end).set_index("symbol")
    assert sorted(served.index) == ["GAP", "GGG", "NEW"]
    for column in ("last_close", "predicted_close", "lower", "upper"):
        # NEW's and GAP's whole history is read: the same computation, to the stored digit.
        for symbol in ("NEW", "GAP"):
            assert served.loc[symbol, column] == round(backtest.loc[symbol, column], PRICE_DECIMALS)
        # GGG's window starts later than its history; the start's weight is negligible.
        assert served.loc["GGG", column] == pytest.approx(backtest.loc["GGG", column], rel=1e-6)
    # The young symbol's interval is its own volatility's, not a degenerate one.
    assert served.loc["NEW", "lower"] < served.loc["NEW", "last_close"] < served.loc["NEW", "upper"]

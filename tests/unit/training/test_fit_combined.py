"""The combined candidate's choice is made on the early-stopping months only: what happens
in the gate's window (or later) cannot change it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from market_predictor.models.forecaster import Forecaster
from market_predictor.training.evaluate import compare_on_common_rows, rows_before
from market_predictor.training.evaluate import validation_forecasts as scored
from market_predictor.training.fit import fit_baseline, fit_combined, fit_rivals
from market_predictor.training.gate import NETWORK, RIVALS
from tests.fixtures.ml import garch_prices

LEVELS = (0.1, 0.5, 0.9)
STOPPING, GATE = dt.date(2017, 3, 1), dt.date(2017, 6, 1)


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, Forecaster, dict[str, Forecaster]]:
    """GARCH-clustered prices, a lead forecaster standing in for the network (drift, so
    the test needs no network fit) and persistence and GARCH, all fitted before STOPPING
    and calibrated on [STOPPING, GATE)."""
    prices = garch_prices(days=700)
    before = rows_before(prices, GATE)
    chosen = [rival for rival in RIVALS if rival.name in ("persistence", "garch")]
    rivals = fit_rivals(before, LEVELS, STOPPING, rivals=chosen)
    return prices, fit_baseline("drift", before, LEVELS, STOPPING), rivals


def _shocked_after(prices: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The same prices with a wild random walk multiplied in from `day` on."""
    shocked = prices.copy()
    after = (pd.to_datetime(shocked["date"]) >= pd.Timestamp(day)).to_numpy()
    walk = np.exp(np.cumsum(np.random.default_rng(0).normal(0.0, 0.1, after.sum())))
    shocked.loc[after, ["open", "high", "low", "close"]] *= walk[:, None]
    return shocked


def test_the_choice_is_made_on_the_early_stopping_months_only(fitted) -> None:  # type: ignore[no-untyped-def]
    prices, lead, rivals = fitted
    combined = fit_combined(lead, rivals, prices, STOPPING, GATE, LEVELS)
    assert list(combined.components) == [NETWORK, "garch"]
    assert combined.selected_on == ["2017-03-01", "2017-05-31"]
    # The scores are the pinballs of the forecasts made in [STOPPING, GATE) with an
    # outcome before GATE, every candidate on the same rows.
    expected = compare_on_common_rows(
        scored({NETWORK: lead, **rivals}, rows_before(prices, GATE), STOPPING), LEVELS
    )
    assert combined.selection == {who: m["pinball"] for who, m in expected.items()}

    shocked = _shocked_after(prices, GATE)
    again = fit_combined(lead, rivals, shocked, STOPPING, GATE, LEVELS)
    assert again.selection == combined.selection
    assert list(again.components) == list(combined.components)
    # The shocked months would have chosen otherwise: GARCH is not best on them.
    past_the_end = (pd.Timestamp(shocked["date"].max()) + pd.Timedelta(days=1)).date()
    seen = fit_combined(lead, rivals, shocked, STOPPING, past_the_end, LEVELS)
    assert list(seen.components) == [NETWORK, "persistence"]


def test_a_young_symbol_in_the_early_stopping_months_does_not_change_the_partner(
    fitted,  # type: ignore[no-untyped-def]
) -> None:
    prices, lead, rivals = fitted
    # A symbol listed 60 trading days before the early-stopping months end: the lead
    # and GARCH (22 rows of history each) forecast it from its 22nd row. The choice is
    # made on the rows both forecast, so GARCH stays the partner it is without it.
    young = prices[prices["symbol"] == "GGG"].tail(60 + 200).head(60).assign(symbol="NEW")
    young = young.assign(date=pd.bdate_range(end=GATE - dt.timedelta(days=1), periods=60))
    with_young = pd.concat([prices, young], ignore_index=True)
    combined = fit_combined(lead, rivals, with_young, STOPPING, GATE, LEVELS)
    assert "garch" in combined.selection
    assert list(combined.components) == [NETWORK, "garch"]


def test_without_early_stopping_months_the_partner_is_persistence(fitted) -> None:  # type: ignore[no-untyped-def]
    prices, lead, rivals = fitted
    combined = fit_combined(lead, rivals, prices, None, GATE, LEVELS)
    assert list(combined.components) == [NETWORK, "persistence"]
    assert combined.selection == {} and combined.selected_on == []

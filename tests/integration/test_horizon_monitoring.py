"""Monitoring beyond the next day on a real store: forecasts of horizons 1 and 5 made
every trading day for ten months and their realised errors, written into the tables;
`monitor` runs the coverage, skill and bias tests at both horizons at one Bonferroni
level, a broken 5-day interval asks for a retrain, and the API's metrics route serves
the 5-day verdict."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from market_predictor.api.app import create_app
from market_predictor.calendar import shift_trading_days
from market_predictor.config import Settings
from market_predictor.results import MonitorResult
from market_predictor.store import FeatureStore
from market_predictor.store.errors import realised_errors
from market_predictor.store.predictions import rows as prediction_rows
from tests.fixtures.ops import monitor_as_of

FIRST = dt.date(2013, 1, 2)
DAYS = 215
SD = 0.01  # the closes' daily log-return sd
Z80 = 1.2815515655446004
# AAA's 5-day interval is a third of the width its moves need: it covers about 30%.
WIDTH = {("AAA", 1): 1.0, ("AAA", 5): 0.35, ("BBB", 1): 1.0, ("BBB", 5): 1.0}


def _trading_days(settings: Settings) -> list[dt.date]:
    return [shift_trading_days(FIRST, i, settings.calendar) for i in range(DAYS)]


def _closes(symbol: str) -> np.ndarray:
    rng = np.random.default_rng(1 if symbol == "AAA" else 2)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, SD, DAYS)))


def _write_store(settings: Settings) -> list[dt.date]:
    """Prices, persistence forecasts of horizons 1 and 5 made every day (an interval
    exact for the moves but for AAA's 5-day one), and their realised errors."""
    days = _trading_days(settings)
    prices = pd.DataFrame(
        [
            {
                "symbol": symbol,
                "date": day,
                "open": close,
                "high": close * 1.005,
                "low": close / 1.005,
                "close": close,
                "volume": 1e6,
                "source": "test",
                "ingested_at": pd.Timestamp("2014-01-01", tz="UTC"),
            }
            for symbol in ("AAA", "BBB")
            for day, close in zip(days, _closes(symbol), strict=True)
        ]
    )
    forecasts = []
    for i in range(DAYS - 5):
        made = []
        for (symbol, horizon), width in WIDTH.items():
            last = _closes(symbol)[i]
            half = Z80 * SD * math.sqrt(horizon) * width
            made.append(
                {
                    "symbol": symbol,
                    "horizon": horizon,
                    "last_close": last,
                    "predicted_close": last,
                    "lower": last * math.exp(-half),
                    "upper": last * math.exp(half),
                    "predicted_return": 0.0,
                }
            )
        forecasts.append(
            prediction_rows(
                pd.DataFrame(made),
                as_of=days[i],
                target_dates={1: days[i + 1], 5: days[i + 5]},
                model_name=settings.model_name,
                model_version="1",
                run_id="test",
            )
        )
    predictions = pd.concat(forecasts, ignore_index=True)
    store = FeatureStore.from_settings(settings)
    store.prices().upsert(prices)
    store.predictions.write(predictions)
    store.errors.write(realised_errors(predictions, prices))
    return days


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, MonitorResult]:
    settings = Settings(home=tmp_path_factory.mktemp("horizon-monitoring") / "home")
    days = _write_store(settings)
    return settings, monitor_as_of(settings, as_of=days[-1])


def test_every_horizons_tests_share_the_days_family_wise_level(
    monitored: tuple[Settings, MonitorResult],
) -> None:
    _, result = monitored
    # No champion, so no input tests: 2 symbols x 3 performance tests x 2 horizons.
    assert result.test_level == pytest.approx(0.01 / 12)
    assert sorted(result.horizons) == [5]
    for symbol in ("AAA", "BBB"):
        row = result.horizons[5][symbol]
        windows = {test.test: test.window for test in row.tests}
        # The 5-day tests read the last 180 errors, the whole lookback holds: every
        # one for skill, the 36 non-overlapping ones for coverage and bias.
        assert windows == {"coverage:h5": 36, "skill:h5": 180, "bias:h5": 36}
        assert row.n == 60  # the rolling skill reads the last 60


def test_a_broken_five_day_interval_asks_for_a_retrain_and_says_why(
    monitored: tuple[Settings, MonitorResult],
) -> None:
    _, result = monitored
    broken, fine = result.horizons[5]["AAA"], result.horizons[5]["BBB"]
    assert broken.retrain_recommended and broken.test == "coverage:h5"
    assert broken.coverage is not None and broken.coverage < 0.5
    assert broken.threshold is not None and broken.threshold.endswith("(1 in every 5 errors)")
    assert broken.test_window == 36 and broken.statistic == broken.tests[0].statistic
    assert not fine.retrain_recommended and fine.test is not None
    assert not any(row.retrain_recommended for row in result.symbols.values())
    assert result.retrain_recommended
    assert list(result.reasons) == ["AAA"] and result.reasons["AAA"].startswith("coverage:h5: ")


def test_the_stored_five_day_rows_carry_their_tests_and_the_api_serves_them(
    monitored: tuple[Settings, MonitorResult],
) -> None:
    settings, result = monitored
    stored = FeatureStore.from_settings(settings).summary.read()
    five = stored[stored["horizon"] == 5].set_index("symbol")
    assert five.loc["AAA", "test"] == "coverage:h5" and bool(five.loc["AAA", "retrain_recommended"])
    for column in ("statistic", "threshold", "test_window", "p_value"):
        assert not five[column].isna().any(), column
    with TestClient(create_app(Settings(home=Path(settings.resolved_home)))) as client:
        body = client.get("/api/v1/metrics/AAA", params={"horizon": 5}).json()
    assert body["horizon"] == 5
    assert body["summary"]["test"] == "coverage:h5"
    assert body["summary"]["retrain_recommended"] is True
    (newest,) = [row for row in body["daily"] if row["date"] == str(result.as_of)]
    assert newest["test_window"] == 36 and newest["reason"] == result.reasons["AAA"]

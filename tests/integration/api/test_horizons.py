"""The `?horizon=` parameter on a store holding forecasts of horizons 1, 5 and 21 (AAA,
BBB) and of horizon 1 only (CCC): each route serves exactly the asked horizon's rows, the
default is horizon 1, an unforecast horizon has no rows, and the original routes keep
serving next-day forecasts only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from market_predictor.api.app import create_app
from market_predictor.config import Settings
from tests.fixtures.horizons import (
    DAYS,
    FIRST_AS_OF,
    LAST_AS_OF,
    PRICED_DAYS,
    close,
    predicted,
    rolling_coverage,
    rolling_mase,
    target,
)

V1 = "/api/v1"
LAST = PRICED_DAYS - 1
HORIZON_ROUTES = ("/predictions/AAA", "/predictions/AAA/latest", "/metrics/AAA", "/overview")


@pytest.fixture(scope="module")
def client(horizon_home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(home=horizon_home))) as started:
        yield started


def _get(client: TestClient, path: str, **params: object) -> dict:  # type: ignore[type-arg]
    response = client.get(V1 + path, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


@pytest.mark.parametrize("path", HORIZON_ROUTES)
def test_no_horizon_parameter_means_horizon_1(client: TestClient, path: str) -> None:
    assert _get(client, path) == _get(client, path, horizon=1)


@pytest.mark.parametrize("horizon", [1, 5, 21])
def test_predictions_at_a_horizon_are_that_horizons_forecasts_only(
    client: TestClient, horizon: int
) -> None:
    body = _get(client, "/predictions/AAA", horizon=horizon)
    rows = body["predictions"]
    assert body["horizon"] == horizon and body["count"] == len(rows)
    assert {row["horizon"] for row in rows} == {horizon}
    made = range(FIRST_AS_OF, PRICED_DAYS)
    assert [_day(row["target_date"]) for row in rows] == [target(i, horizon) for i in made]
    assert [row["predicted_close"] for row in rows] == pytest.approx(
        [predicted("AAA", i, horizon)[0] for i in made]
    )


def test_an_outcome_is_joined_to_the_forecast_of_its_own_horizon(client: TestClient) -> None:
    # DAYS[10] is the target of the 1-day forecast made on day 9 and of the 5-day one
    # made on day 5: each must carry its own error against the same close.
    day = DAYS[10].isoformat()
    for horizon, as_of in ((1, 9), (5, 5)):
        (row,) = _get(client, "/predictions/AAA", horizon=horizon, start=day, end=day)[
            "predictions"
        ]
        assert _day(row["as_of_date"]) == DAYS[as_of]
        assert row["actual_close"] == close("AAA", 10)
        assert row["abs_error"] == pytest.approx(
            abs(predicted("AAA", as_of, horizon)[0] - close("AAA", 10))
        )


def test_latest_is_the_horizons_newest_forecast_beside_every_horizon_of_that_day(
    client: TestClient,
) -> None:
    body = _get(client, "/predictions/AAA/latest", horizon=5)
    assert body["forecast"]["horizon"] == 5
    assert _day(body["forecast"]["target_date"]) == target(LAST, 5)
    # The newest realised 5-day forecast targets the last priced day.
    assert _day(body["last_realised"]["target_date"]) == DAYS[LAST]
    assert body["last_realised"]["horizon"] == 5
    fan = body["horizons"]
    assert [point["horizon"] for point in fan] == [1, 5, 21]
    assert {_day(point["as_of_date"]) for point in fan} == {LAST_AS_OF}
    for point in fan:
        median, lower, upper = predicted("AAA", LAST, point["horizon"])
        assert _day(point["target_date"]) == target(LAST, point["horizon"])
        assert (point["predicted_close"], point["lower"], point["upper"]) == pytest.approx(
            (median, lower, upper)
        )
        assert point["last_close"] == close("AAA", LAST)


def test_a_symbol_forecast_at_one_horizon_has_a_one_point_fan(client: TestClient) -> None:
    body = _get(client, "/predictions/CCC/latest")
    assert [point["horizon"] for point in body["horizons"]] == [1]
    symbols = {s["symbol"]: s["horizons"] for s in _get(client, "/symbols")["symbols"]}
    assert symbols == {"AAA": [1, 5, 21], "BBB": [1, 5, 21], "CCC": [1]}


@pytest.mark.parametrize(("symbol", "horizon"), [("CCC", 5), ("AAA", 2), ("AAA", 22)])
def test_a_horizon_never_forecast_has_no_rows_and_no_latest(
    client: TestClient, symbol: str, horizon: int
) -> None:
    listed = _get(client, f"/predictions/{symbol}", horizon=horizon)
    assert listed["count"] == 0 and listed["predictions"] == []
    metrics = _get(client, f"/metrics/{symbol}", horizon=horizon)
    assert metrics["errors"] == [] and metrics["daily"] == []
    assert metrics["summary"]["n"] == 0 and metrics["summary"]["mase"] is None
    latest = client.get(f"{V1}/predictions/{symbol}/latest", params={"horizon": horizon})
    assert latest.status_code == 404
    assert f"{horizon}-day" in latest.json()["detail"]


def test_an_unknown_symbol_is_still_404_at_any_horizon(client: TestClient) -> None:
    for path in ("/predictions/ZZZ", "/predictions/ZZZ/latest", "/metrics/ZZZ"):
        assert client.get(V1 + path, params={"horizon": 5}).status_code == 404


@pytest.mark.parametrize("path", HORIZON_ROUTES)
@pytest.mark.parametrize("horizon", ["0", "-1", "five", "1.5"])
def test_a_horizon_that_is_not_a_positive_integer_is_422(
    client: TestClient, path: str, horizon: str
) -> None:
    response = client.get(V1 + path, params={"horizon": horizon})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["query", "horizon"]]


@pytest.mark.parametrize("horizon", [1, 5, 21])
def test_metrics_at_a_horizon_measure_that_horizons_errors_against_persistence(
    client: TestClient, horizon: int
) -> None:
    body = _get(client, "/metrics/BBB", horizon=horizon)
    errors = body["errors"]
    realised = [i for i in range(FIRST_AS_OF, PRICED_DAYS) if i + horizon < PRICED_DAYS]
    assert body["horizon"] == horizon and {e["horizon"] for e in errors} == {horizon}
    assert [_day(e["as_of_date"]) for e in errors] == [DAYS[i] for i in realised]
    model = [abs(predicted("BBB", i, horizon)[0] - close("BBB", i + horizon)) for i in realised]
    persistence = [float(horizon)] * len(realised)  # the close rises 1 per day
    summary = body["summary"]
    assert summary["n"] == len(realised)
    assert summary["mase"] == pytest.approx(sum(model) / sum(persistence))
    assert [d["mase"] for d in body["daily"]] == pytest.approx([rolling_mase(horizon)] * 3)
    assert {d["horizon"] for d in body["daily"]} == {horizon}


def test_overview_rows_are_the_asked_horizons_with_every_horizons_skill(
    client: TestClient,
) -> None:
    rows = _get(client, "/overview", horizon=5)["symbols"]
    assert [row["symbol"] for row in rows] == ["AAA", "BBB"]  # CCC has no 5-day forecasts
    aaa = rows[0]
    assert aaa["horizon"] == 5 and _day(aaa["target_date"]) == target(LAST, 5)
    assert aaa["mase"] == pytest.approx(rolling_mase(5))
    assert aaa["coverage"] == pytest.approx(rolling_coverage(5))
    assert [(p["horizon"], p["mase"], p["coverage"]) for p in aaa["horizons"]] == [
        (h, pytest.approx(rolling_mase(h)), pytest.approx(rolling_coverage(h))) for h in (1, 5, 21)
    ]
    default = _get(client, "/overview")["symbols"]
    assert [row["symbol"] for row in default] == ["AAA", "BBB", "CCC"]
    assert {row["horizon"] for row in default} == {1}
    assert _get(client, "/overview", horizon=2)["symbols"] == []


def test_original_routes_list_next_day_forecasts_only(client: TestClient) -> None:
    assert _get(client, "/available_stock_symbols") == {"values": ["AAA", "BBB", "CCC"]}
    april = [i for i in range(FIRST_AS_OF, PRICED_DAYS) if target(i, 1).month == 4]
    predictions = _get(client, "/predictions/AAA/2024/4")
    assert set(predictions) == {"datetime", "prediction"}
    assert [_day(d) for d in predictions["datetime"]] == [target(i, 1) for i in april]
    assert predictions["prediction"] == pytest.approx([predicted("AAA", i, 1)[0] for i in april])
    metrics = _get(client, "/metrics/AAA/2024/4")
    assert set(metrics) == {"datetime", "metric"}
    realised = [i for i in april if i + 1 < PRICED_DAYS]
    assert [_day(d) for d in metrics["datetime"]] == [target(i, 1) for i in realised]
    assert metrics["metric"] == pytest.approx(
        [abs(predicted("AAA", i, 1)[0] - close("AAA", i + 1)) for i in realised]
    )


def test_a_month_holding_only_longer_horizons_targets_is_404_on_the_original_route(
    client: TestClient,
) -> None:
    # May 2024 is targeted by 21-day forecasts alone.
    assert target(LAST, 5).month == 4 and target(LAST, 21).month == 5
    assert client.get(f"{V1}/predictions/AAA/2024/5").status_code == 404
    assert _get(client, "/predictions/AAA", horizon=21, start="2024-05-01")["count"] > 0


def test_an_unknown_query_parameter_is_a_422_naming_it(client: TestClient) -> None:
    # A typo must not silently answer for the default horizon.
    response = client.get("/api/v1/overview", params={"horizn": 5})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "horizn"]
    assert client.get("/api/v1/overview", params={"horizon": 5}).status_code == 200

"""Every route on a store filled by the real pipeline (a replay of sample data): the
success cases against the stored rows, and the error cases."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from market_predictor.api.app import create_app
from market_predictor.config import Settings
from market_predictor.pipeline import run_daily
from market_predictor.store import FeatureStore
from market_predictor.store.errors import served
from tests.fixtures.api import REPLAY_END, REPLAY_START

V1 = "/api/v1"
NEXT_TRADING_DAY = dt.date(2012, 12, 24)


def _days(values: list[str]) -> list[dt.date]:
    return [dt.date.fromisoformat(v) for v in values]


def _served_predictions(settings: Settings, symbol: str) -> pd.DataFrame:
    store = FeatureStore.from_settings(settings)
    return served(store.predictions.read_rows([symbol], settings.model_name))


def _served_errors(settings: Settings, symbol: str) -> pd.DataFrame:
    store = FeatureStore.from_settings(settings)
    return served(store.errors.read_rows([symbol], settings.model_name))


def _as_dates(column: pd.Series) -> list[dt.date]:
    return list(pd.to_datetime(column).dt.date)


def test_health_reports_the_champion_the_store_and_the_newest_as_of(
    api_client: TestClient,
) -> None:
    body = api_client.get(f"{V1}/health").json()
    assert body["status"] == "ok"
    assert body["store_reachable"] is True
    assert body["champion_version"] == "1"
    assert dt.date.fromisoformat(body["as_of"]) == REPLAY_END
    assert set(body["data_versions"]) == {"prices", "predictions", "errors", "summary"}


def test_symbols_lists_each_forecast_symbol_with_its_latest_as_of(api_client: TestClient) -> None:
    body = api_client.get(f"{V1}/symbols").json()
    assert [s["symbol"] for s in body["symbols"]] == ["AAPL", "MSFT"]
    assert {s["latest_as_of"] for s in body["symbols"]} == {REPLAY_END.isoformat()}


def test_predictions_range_is_inclusive_at_both_ends_and_matches_the_stored_rows(
    api_client: TestClient, api_home: Settings
) -> None:
    body = api_client.get(
        f"{V1}/predictions/AAPL", params={"start": "2012-12-10", "end": "2012-12-14"}
    ).json()
    targets = _days([row["target_date"] for row in body["predictions"]])
    assert targets == [dt.date(2012, 12, d) for d in (10, 11, 12, 13, 14)]
    assert body["count"] == 5
    stored = _served_predictions(api_home, "AAPL").set_index(
        pd.to_datetime(_served_predictions(api_home, "AAPL")["target_date"]).dt.date
    )
    for row in body["predictions"]:
        expected = stored.loc[dt.date.fromisoformat(row["target_date"])]
        assert row["predicted_close"] == pytest.approx(expected["predicted_close"])
        assert row["lower"] == pytest.approx(expected["lower"])
        assert row["model_version"] == expected["model_version"]


def test_predictions_carry_the_realised_close_once_known(
    api_client: TestClient, api_home: Settings
) -> None:
    rows = api_client.get(f"{V1}/predictions/AAPL").json()["predictions"]
    closes = FeatureStore.from_settings(api_home).prices().read(["AAPL"])
    close_on = dict(zip(_as_dates(closes["date"]), closes["close"], strict=True))
    realised = [r for r in rows if r["actual_close"] is not None]
    assert realised and rows[-1]["actual_close"] is None  # the 24th is not known yet
    for row in realised:
        assert row["actual_close"] == pytest.approx(
            close_on[dt.date.fromisoformat(row["target_date"])]
        )
        assert row["abs_error"] == pytest.approx(abs(row["predicted_close"] - row["actual_close"]))


def test_limit_keeps_the_newest_rows_in_date_order(api_client: TestClient) -> None:
    body = api_client.get(f"{V1}/predictions/MSFT", params={"limit": 3}).json()
    assert _days([r["target_date"] for r in body["predictions"]]) == [
        dt.date(2012, 12, 20),
        dt.date(2012, 12, 21),
        NEXT_TRADING_DAY,
    ]


def test_latest_is_the_next_trading_days_forecast_beside_the_newest_realised_one(
    api_client: TestClient,
) -> None:
    body = api_client.get(f"{V1}/predictions/aapl/latest").json()
    assert body["symbol"] == "AAPL"
    forecast = body["forecast"]
    assert dt.date.fromisoformat(forecast["as_of_date"]) == REPLAY_END
    assert dt.date.fromisoformat(forecast["target_date"]) == NEXT_TRADING_DAY
    assert forecast["lower"] <= forecast["predicted_close"] <= forecast["upper"]
    assert forecast["model_version"] == "1"
    assert forecast["actual_close"] is None
    assert dt.date.fromisoformat(body["last_realised"]["target_date"]) == REPLAY_END
    assert body["last_realised"]["actual_close"] is not None


def test_metrics_summary_is_the_skill_of_the_stored_errors_in_the_range(
    api_client: TestClient, api_home: Settings
) -> None:
    start, end = dt.date(2012, 12, 5), dt.date(2012, 12, 18)
    body = api_client.get(
        f"{V1}/metrics/MSFT", params={"start": start.isoformat(), "end": end.isoformat()}
    ).json()
    stored = _served_errors(api_home, "MSFT")
    days = pd.Series(_as_dates(stored["target_date"]))
    expected = stored[((days >= start) & (days <= end)).to_numpy()]
    assert _days([e["target_date"] for e in body["errors"]]) == _as_dates(expected["target_date"])
    summary = body["summary"]
    assert summary["n"] == len(expected)
    assert summary["mae"] == pytest.approx(expected["abs_error"].mean())
    assert summary["persistence_mae"] == pytest.approx(expected["persistence_abs_error"].mean())
    assert summary["mase"] == pytest.approx(
        expected["abs_error"].mean() / expected["persistence_abs_error"].mean()
    )
    assert summary["coverage"] == pytest.approx(expected["inside_interval"].mean())
    daily = body["daily"]
    assert daily and all(start.isoformat() <= d["date"] <= end.isoformat() for d in daily)
    assert summary["retrain_recommended"] == daily[-1]["retrain_recommended"]
    assert summary["reason"] == daily[-1]["reason"]


def test_metrics_of_a_range_without_errors_have_an_empty_summary(api_client: TestClient) -> None:
    body = api_client.get(f"{V1}/metrics/AAPL", params={"start": "2013-01-01"}).json()
    assert body["errors"] == [] and body["daily"] == []
    assert body["summary"]["n"] == 0
    assert body["summary"]["mase"] is None


def test_prices_serve_the_stored_rows_in_the_range(
    api_client: TestClient, api_home: Settings
) -> None:
    body = api_client.get(
        f"{V1}/prices/AAPL", params={"start": "2012-11-26", "end": "2012-11-30"}
    ).json()
    stored = (
        FeatureStore.from_settings(api_home)
        .prices()
        .read(["AAPL"], dt.date(2012, 11, 26), dt.date(2012, 11, 30))
    )
    assert _days([p["date"] for p in body["prices"]]) == _as_dates(stored["date"])
    assert [p["close"] for p in body["prices"]] == pytest.approx(list(stored["close"]))


def test_overview_has_one_row_per_symbol_with_the_next_forecast_and_rolling_skill(
    api_client: TestClient,
) -> None:
    rows = api_client.get(f"{V1}/overview").json()["symbols"]
    assert [r["symbol"] for r in rows] == ["AAPL", "MSFT"]
    latest = api_client.get(f"{V1}/predictions/AAPL/latest").json()["forecast"]
    daily = api_client.get(f"{V1}/metrics/AAPL").json()["daily"][-1]
    aapl = rows[0]
    assert aapl["predicted_close"] == latest["predicted_close"]
    assert aapl["change_pct"] == pytest.approx(
        (latest["predicted_close"] / latest["last_close"] - 1) * 100
    )
    assert aapl["mase"] == daily["mase"] and aapl["coverage"] == daily["coverage"]
    assert aapl["stale"] is False


def test_models_list_every_version_and_the_champion_its_lineage(api_client: TestClient) -> None:
    versions = api_client.get(f"{V1}/models").json()["versions"]
    assert [(v["version"], v["aliases"]) for v in versions] == [("1", ["champion"])]
    champion = api_client.get(f"{V1}/models/champion").json()
    assert champion["version"] == "1" and champion["is_baseline"] is True
    assert champion["trained_until"] == "2012-11-30"
    assert [v["version"] for v in champion["history"]] == ["1"]


def test_original_routes_return_the_stored_rows_in_their_original_shapes(
    api_client: TestClient, api_home: Settings
) -> None:
    assert api_client.get(f"{V1}/available_stock_symbols").json() == {"values": ["AAPL", "MSFT"]}

    predicted = api_client.get(f"{V1}/predictions/AAPL/2012/12").json()
    assert set(predicted) == {"datetime", "prediction"}
    stored = _served_predictions(api_home, "AAPL")
    assert _days(predicted["datetime"]) == _as_dates(stored["target_date"])
    assert predicted["prediction"] == pytest.approx(list(stored["predicted_close"]))

    metrics = api_client.get(f"{V1}/metrics/AAPL/2012/12").json()
    assert set(metrics) == {"datetime", "metric"}
    errors = _served_errors(api_home, "AAPL")
    assert _days(metrics["datetime"]) == _as_dates(errors["target_date"])
    assert metrics["metric"] == pytest.approx(list(errors["abs_error"]))


@pytest.mark.parametrize(
    "path",
    [
        "/predictions/ZZZZ",
        "/predictions/ZZZZ/latest",
        "/metrics/ZZZZ",
        "/prices/ZZZZ",
        "/predictions/ZZZZ/2012/12",
        "/metrics/ZZZZ/2012/12",
        "/predictions/AAPL/2011/12",  # a known symbol, a month without rows
        "/metrics/AAPL/2013/1",
    ],
)
def test_unknown_symbols_and_empty_months_are_404_with_a_json_detail(
    api_client: TestClient, path: str
) -> None:
    response = api_client.get(V1 + path)
    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/metrics/AAPL/2012/13", {}, "month"),
        ("/metrics/AAPL/2012/0", {}, "month"),
        ("/predictions/AAPL/1899/12", {}, "year"),
        ("/predictions/AAPL/twelve/12", {}, "year"),
        ("/prices/AAPL", {"start": "2012-13-01"}, "start"),
        ("/prices/AAPL", {"end": "yesterday"}, "end"),
        ("/metrics/AAPL", {"start": "2012-12-10", "end": "2012-12-09"}, "start"),
        ("/predictions/AAPL", {"start": "2000-01-01", "end": "2010-01-09"}, "end"),
        ("/predictions/AAPL", {"limit": 0}, "limit"),
        ("/prices/AAPL", {"limit": 10**9}, "limit"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    api_client: TestClient, path: str, params: dict[str, object], field: str
) -> None:
    response = api_client.get(V1 + path, params=params)
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]
    assert "Traceback" not in response.text


def test_a_range_of_exactly_the_limit_is_accepted() -> None:
    from market_predictor.api.deps import MAX_RANGE_DAYS

    start = dt.date(2000, 1, 1)
    end = start + dt.timedelta(days=MAX_RANGE_DAYS)
    with TestClient(create_app(Settings())) as client:
        ok = client.get(f"{V1}/symbols", params={})
        assert ok.status_code == 200
        at_limit = client.get(
            f"{V1}/prices/AAPL", params={"start": start.isoformat(), "end": end.isoformat()}
        )
        past_limit = client.get(
            f"{V1}/prices/AAPL",
            params={"start": start.isoformat(), "end": (end + dt.timedelta(days=1)).isoformat()},
        )
    assert at_limit.status_code == 404  # accepted, then no such symbol in an empty store
    assert past_limit.status_code == 422


def test_a_matching_if_none_match_gets_304_without_a_body(api_client: TestClient) -> None:
    first = api_client.get(f"{V1}/predictions/AAPL/latest")
    etag = first.headers["etag"]
    again = api_client.get(f"{V1}/predictions/AAPL/latest", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = api_client.get(f"{V1}/symbols", headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    stale = api_client.get(f"{V1}/predictions/AAPL/latest", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200 and stale.json() == first.json()


def test_a_daily_run_is_visible_without_a_restart(api_home: Settings) -> None:
    settings = api_home.model_copy(update={"api_poll_seconds": 0.2})
    with TestClient(create_app(settings)) as client:
        before = client.get(f"{V1}/predictions/AAPL/latest")
        assert before.json()["forecast"]["as_of_date"] == REPLAY_END.isoformat()
        report = run_daily(settings, as_of=NEXT_TRADING_DAY, source="sample", retrain=False)
        assert report.failed_step is None
        # The poller may catch the run between its writes; the next tick completes it.
        deadline = time.monotonic() + 30
        latest = before
        while time.monotonic() < deadline:
            latest = client.get(f"{V1}/predictions/AAPL/latest")
            realised = latest.json()["last_realised"]["target_date"]
            if realised == NEXT_TRADING_DAY.isoformat():
                break
            time.sleep(0.2)
        assert latest.json()["forecast"]["as_of_date"] == NEXT_TRADING_DAY.isoformat()
        assert latest.json()["last_realised"]["target_date"] == NEXT_TRADING_DAY.isoformat()
        assert latest.headers["etag"] != before.headers["etag"]
        # The client's old ETag no longer matches: it gets the new rows, not a 304.
        revalidated = client.get(
            f"{V1}/predictions/AAPL/latest", headers={"If-None-Match": before.headers["etag"]}
        )
        assert revalidated.status_code == 200


def test_replay_window_is_what_the_fixture_claims(api_client: TestClient) -> None:
    daily = api_client.get(f"{V1}/metrics/AAPL").json()["daily"]
    assert dt.date.fromisoformat(daily[0]["date"]) >= REPLAY_START
    assert dt.date.fromisoformat(daily[-1]["date"]) == REPLAY_END

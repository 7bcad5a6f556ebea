"""Each dashboard page run by Streamlit's AppTest against a real API process filled by
the pipeline: what it shows, the symbol and date-range controls, and its messages when
the API is down or refuses the token."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import market_predictor.dashboard
from tests.fixtures.ops import OPS_SYMBOLS
from tests.integration.dashboard.conftest import (
    NEXT_TRADING_DAY,
    REPLAY_END,
    ServedApi,
    api_json,
    free_port,
)

APP = Path(market_predictor.dashboard.__file__).with_name("app.py")
PAGES = ("pages/overview.py", "pages/symbol.py", "pages/model.py")


def run_page(page: str = "pages/overview.py") -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    if page != "pages/overview.py":
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def shown_rows(app: AppTest) -> pd.DataFrame:
    """The symbol page's table of the days shown (the rows the CSV download holds)."""
    return next(t.value for t in app.dataframe if "actual_close" in t.value.columns)


def metric(app: AppTest, label: str) -> str:
    values = [m.value for m in app.metric if m.label == label]
    assert values, f"no {label!r} tile among {[m.label for m in app.metric]}"
    return values[0]


def test_overview_lists_every_symbol_with_the_apis_forecast_and_champion(
    dashboard_env: ServedApi,
) -> None:
    app = run_page()
    table = app.dataframe[0].value
    assert list(table["Symbol"]) == list(OPS_SYMBOLS)
    served = {row["symbol"]: row for row in api_json(dashboard_env, "/overview")["symbols"]}
    for row in table.to_dict("records"):
        assert row["Predicted close"] == served[row["Symbol"]]["predicted_close"]
        assert row["Forecast for"] == NEXT_TRADING_DAY
        assert row["Status"] == "fresh"
    champion = api_json(dashboard_env, "/health")["champion_version"]
    header = app.caption[0].value
    assert f"v{champion}" in header and REPLAY_END.isoformat() in header
    assert metric(app, "Stale") == "0"


def test_symbol_page_opens_on_the_last_six_months_with_the_next_forecast(
    dashboard_env: ServedApi,
) -> None:
    app = run_page("pages/symbol.py")
    assert app.date_input(key="range").value == (dt.date(2012, 6, 14), REPLAY_END)
    latest = api_json(dashboard_env, "/predictions/AAPL/latest")["forecast"]
    assert metric(app, f"Forecast for {NEXT_TRADING_DAY}") == f"{latest['predicted_close']:.2f}"
    # prices with forecasts, the horizons' fan, errors, rolling skill
    assert len(app.get("plotly_chart")) == 4
    rows = shown_rows(app)
    assert rows["date"].min() >= dt.date(2012, 6, 14)
    assert rows["date"].max() == REPLAY_END


def test_selecting_a_symbol_shows_that_symbols_forecast(dashboard_env: ServedApi) -> None:
    app = run_page("pages/symbol.py")
    app.selectbox(key="symbol").set_value("MSFT").run()
    assert not app.exception
    latest = api_json(dashboard_env, "/predictions/MSFT/latest")["forecast"]
    assert metric(app, f"Forecast for {NEXT_TRADING_DAY}") == f"{latest['predicted_close']:.2f}"
    closes = shown_rows(app).dropna(subset=["actual_close"])
    served = api_json(dashboard_env, "/prices/MSFT", start="2012-12-03", end="2012-12-03")
    first_monday = closes[closes["date"] == dt.date(2012, 12, 3)]
    assert first_monday["actual_close"].item() == served["prices"][0]["close"]


def test_changing_the_date_range_shows_exactly_the_days_inside_it(
    dashboard_env: ServedApi,
) -> None:
    app = run_page("pages/symbol.py")
    app.date_input(key="range").set_value((dt.date(2012, 12, 5), dt.date(2012, 12, 11))).run()
    rows = shown_rows(app)
    # Wednesday to the next Tuesday: five trading days, each with a forecast made for it.
    assert list(rows["date"]) == [dt.date(2012, 12, d) for d in (5, 6, 7, 10, 11)]
    assert rows["predicted_close"].notna().all()
    errors = api_json(dashboard_env, "/metrics/AAPL", start="2012-12-05", end="2012-12-11")
    assert metric(app, "MAE (range)") == f"{errors['summary']['mae']:.3f}"


def test_a_range_before_the_first_forecast_shows_closes_without_forecasts(
    dashboard_env: ServedApi,
) -> None:
    app = run_page("pages/symbol.py")
    app.date_input(key="range").set_value((dt.date(2012, 11, 26), dt.date(2012, 11, 30))).run()
    assert not app.exception
    rows = shown_rows(app)
    assert len(rows) == 5 and rows["predicted_close"].isna().all()
    assert metric(app, "MASE (range)") == "–"


def test_the_original_year_month_picker_jumps_to_that_whole_month(
    dashboard_env: ServedApi,
) -> None:
    app = run_page("pages/symbol.py")
    app.selectbox(key="pick_year").set_value(2012)
    app.selectbox(key="pick_month").set_value("Nov")
    app.button(key="jump").click().run()
    assert app.date_input(key="range").value == (dt.date(2012, 11, 1), dt.date(2012, 11, 30))
    rows = shown_rows(app)
    assert rows["date"].min() == dt.date(2012, 11, 1) and rows["date"].max() == dt.date(
        2012, 11, 30
    )


def test_the_download_holds_the_rows_shown(dashboard_env: ServedApi) -> None:
    app = run_page("pages/symbol.py")
    app.date_input(key="range").set_value((dt.date(2012, 12, 10), dt.date(2012, 12, 14))).run()
    shown = shown_rows(app)
    button = app.get("download_button")[0]
    assert button.proto.label.startswith("Download")
    assert len(shown) == 5  # the CSV is built from this frame (see the page)


def test_model_page_shows_the_champion_its_validation_and_gate_history(
    dashboard_env: ServedApi,
) -> None:
    app = run_page("pages/model.py")
    champion = api_json(dashboard_env, "/models/champion")
    assert metric(app, "Version") == champion["version"]
    assert champion["is_baseline"]  # the ops template's champion
    assert app.caption[0].value.startswith("persistence baseline")
    history = next(t.value for t in app.dataframe if "gate_decision" in t.value.columns)
    assert list(history["version"]) == [v["version"] for v in champion["history"]]


def test_model_page_shows_each_contestants_interval_backtests(
    trained_dashboard_env: ServedApi,
) -> None:
    app = run_page("pages/model.py")
    tests = api_json(trained_dashboard_env, "/models/champion")["interval_tests"]
    assert {"model", "persistence", "drift", "garch"} <= set(tests)
    table = next(t.value for t in app.dataframe if "Kupiec POF p" in t.value.columns)
    assert len(table) == 3 * len(tests)  # each tail and the whole interval
    shown = table.set_index(["forecaster", "part"])
    for who, backtest in tests.items():
        for part, label in (("lower", "10% tail"), ("upper", "90% tail"), ("interval", "interval")):
            row = shown.loc[(who, label)]
            assert row["miss rate"] == backtest[part]["hit_rate"]
            assert row["Kupiec POF p"] == backtest[part]["pof"]["p_value"]
            assert row["cond. coverage p"] == backtest[part]["conditional_coverage"]["p_value"]
        assert shown.loc[(who, "interval"), "interval score"] == backtest["interval_score"]


def test_model_page_says_when_a_champion_has_no_interval_backtests(
    dashboard_env: ServedApi,
) -> None:
    # The ops template's champion is a persistence baseline registered without training.
    app = run_page("pages/model.py")
    assert not any("Kupiec POF p" in t.value.columns for t in app.dataframe)
    assert any("No interval backtests" in c.value for c in app.caption)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_the_api_is_down_instead_of_failing(
    page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_API_URL", f"http://127.0.0.1:{free_port()}")
    app = run_page(page)
    assert len(app.error) == 1
    assert "not reachable" in app.error[0].value and "mpp serve" in app.error[0].value
    assert not app.metric and not app.get("plotly_chart")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_the_token_is_wrong_instead_of_failing(
    page: str, dashboard_env: ServedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_API_KEY", "not-the-token")
    app = run_page(page)
    assert len(app.error) == 1
    assert "refused the dashboard's token" in app.error[0].value
    assert not app.metric


def test_a_missing_token_says_which_setting_to_set(
    dashboard_env: ServedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MPP_API_KEY")
    app = run_page()
    assert "set MPP_API_KEY" in app.error[0].value


def test_the_csv_rows_frame_is_sorted_by_date(dashboard_env: ServedApi) -> None:
    app = run_page("pages/symbol.py")
    dates = pd.Series(shown_rows(app)["date"])
    assert dates.is_monotonic_increasing

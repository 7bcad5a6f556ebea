"""The overview and symbol pages (Streamlit AppTest) against a real API serving the
multi-horizon store: the fan chart holds each symbol's horizons, and each horizon's
skill is the API's for that horizon."""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from market_predictor.dashboard.horizons import FAN_TITLE
from tests.fixtures.horizons import LAST_AS_OF, rolling_mase
from tests.integration.dashboard.conftest import ServedApi, api_json
from tests.integration.dashboard.test_pages import run_page


def fan_figure(app: AppTest) -> dict[str, Any]:
    """The page's fan chart as Plotly JSON (the figure Streamlit sends the browser)."""
    figures = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    fans = [f for f in figures if f["layout"]["title"]["text"].startswith(FAN_TITLE)]
    assert len(fans) == 1, [f["layout"]["title"]["text"] for f in figures]
    return fans[0]


def labelled_horizons(figure: dict[str, Any]) -> dict[str, list[str]]:
    """Per median trace (by symbol), the horizon labels along it."""
    return {
        trace["name"].removesuffix(" median"): [t for t in trace["text"] if t]
        for trace in figure["data"]
        if trace["name"].endswith(" median")
    }


def table_with(app: AppTest, column: str) -> Any:
    return next(t.value for t in app.dataframe if column in t.value.columns)


@pytest.mark.usefixtures("horizon_dashboard_env")
def test_overview_fans_every_horizon_of_every_symbol_in_percent() -> None:
    app = run_page()
    figure = fan_figure(app)
    assert labelled_horizons(figure) == {
        "AAA": ["1d", "5d", "21d"],
        "BBB": ["1d", "5d", "21d"],
        "CCC": ["1d"],
    }
    aaa = next(t for t in figure["data"] if t["name"] == "AAA median")
    assert aaa["x"][0].startswith(LAST_AS_OF.isoformat())
    assert aaa["y"][0] == 0.0  # percent of the last close, at the as-of date


def test_overview_shows_each_horizons_rolling_skill(horizon_dashboard_env: ServedApi) -> None:
    app = run_page()
    table = table_with(app, "Horizon (days)")
    served = api_json(horizon_dashboard_env, "/overview")["symbols"]
    assert len(table) == sum(len(row["horizons"]) for row in served) == 7
    for row in table.to_dict("records"):
        assert row["MASE"] == pytest.approx(rolling_mase(row["Horizon (days)"]))


def test_symbol_page_fans_the_symbols_horizons_with_each_horizons_range_skill(
    horizon_dashboard_env: ServedApi,
) -> None:
    app = run_page("pages/symbol.py")
    assert labelled_horizons(fan_figure(app)) == {"AAA": ["1d", "5d", "21d"]}
    table = table_with(app, "Persistence MAE")
    assert table["Horizon (days)"].tolist() == [1, 5, 21]
    start, end = app.date_input(key="range").value
    for row in table.to_dict("records"):
        served = api_json(
            horizon_dashboard_env,
            "/metrics/AAA",
            start=start.isoformat(),
            end=end.isoformat(),
            horizon=str(row["Horizon (days)"]),
        )["summary"]
        assert row["MASE"] == pytest.approx(served["mase"])
        assert row["Realised"] == served["n"]


@pytest.mark.usefixtures("horizon_dashboard_env")
def test_a_symbol_with_next_day_forecasts_only_has_a_one_step_fan() -> None:
    app = run_page("pages/symbol.py")
    app.selectbox(key="symbol").set_value("CCC").run()
    assert not app.exception
    assert labelled_horizons(fan_figure(app)) == {"CCC": ["1d"]}
    assert table_with(app, "Persistence MAE")["Horizon (days)"].tolist() == [1]

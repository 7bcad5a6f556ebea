"""Chart titles state what monitoring measured, from the data rather than a constant."""

from __future__ import annotations

import pandas as pd

from market_predictor.dashboard.charts import skill_chart


def _daily(window: list[int | None]) -> pd.DataFrame:
    days = pd.date_range("2024-03-01", periods=len(window), freq="B")
    return pd.DataFrame({"date": days, "mase": 0.98, "coverage": 0.8, "window": window})


def test_the_skill_chart_is_titled_with_monitorings_own_window() -> None:
    assert skill_chart(_daily([60, 60, 60])).layout.title.text == "Rolling skill (60 trading days)"
    assert skill_chart(_daily([None, 20, 20])).layout.title.text.endswith("(20 trading days)")


def test_the_skill_chart_names_no_window_when_the_rows_disagree_or_have_none() -> None:
    assert skill_chart(_daily([20, 60])).layout.title.text == "Rolling skill"
    assert skill_chart(pd.DataFrame()).layout.title.text == "Rolling skill"

from __future__ import annotations

import datetime as dt

import pytest

from market_predictor.cli.daily import render_daily
from market_predictor.results import CompactResult, DailyReport, DailySteps


def test_daily_report_names_the_tables_it_compacted(capsys: pytest.CaptureFixture[str]) -> None:
    report = DailyReport(
        as_of=dt.date(2012, 12, 3),
        steps=DailySteps(compact=CompactResult(compacted=["predictions", "monitoring/errors"])),
        message="done",
    )
    render_daily(report)
    assert "compacted: predictions, monitoring/errors" in capsys.readouterr().out

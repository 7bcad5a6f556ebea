from __future__ import annotations

import pytest

from market_predictor.cli.daily import render_daily


def test_daily_report_names_the_tables_it_compacted(capsys: pytest.CaptureFixture[str]) -> None:
    render_daily(
        {
            "steps": {"compact": {"compacted": ["predictions", "monitoring/errors"]}},
            "failed_step": None,
            "message": "done",
        }
    )
    assert "compacted: predictions, monitoring/errors" in capsys.readouterr().out

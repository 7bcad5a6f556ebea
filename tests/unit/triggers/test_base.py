"""The record of a test's outcome: the summary table stores the Python dump as JSON text,
the API and --json serve JSON, in which a non-finite number is null."""

from __future__ import annotations

import json
import math

import pydantic
import pytest

from market_predictor.results import SymbolSkill
from market_predictor.triggers.base import TriggerTest, present


def _sure_skill_loss() -> TriggerTest:
    return TriggerTest(
        test="skill", statistic=math.inf, threshold="> 4.067", window=25, p_value=0.0, fired=True
    )


def test_the_stored_text_keeps_the_fields_in_order_and_an_infinite_statistic() -> None:
    text = json.dumps([_sure_skill_loss().model_dump()])
    assert text == (
        '[{"test": "skill", "statistic": Infinity, "threshold": "> 4.067", "window": 25,'
        ' "p_value": 0.0, "fired": true}]'
    )


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_json_writes_a_non_finite_statistic_or_p_value_as_null(value: float) -> None:
    record = TriggerTest(
        test="drift:x", statistic=value, threshold="> 1", window=4, p_value=value, fired=False
    )
    assert json.loads(record.model_dump_json()) == {
        "test": "drift:x",
        "statistic": None,
        "threshold": "> 1",
        "window": 4,
        "p_value": None,
        "fired": False,
    }
    assert record.model_dump(mode="json")["statistic"] is None
    assert record.model_dump(mode="json")["p_value"] is None


def test_a_finite_statistic_is_served_as_computed() -> None:
    record = TriggerTest(
        test="bias", statistic=-2.5, threshold="|t| > 3.1", window=30, p_value=0.02, fired=False
    )
    assert json.loads(record.model_dump_json())["statistic"] == -2.5
    assert record.model_dump(mode="json")["p_value"] == 0.02


def test_a_summary_row_reads_its_stored_tests_back_with_unknowns_as_null() -> None:
    stored = json.dumps([_sure_skill_loss().model_dump()])
    row = SymbolSkill.model_validate({"n": 25, "tests": stored})
    [test] = row.tests
    assert test.statistic is None and test.fired and test.window == 25
    assert row.to_json()["tests"][0]["statistic"] is None
    assert json.loads(row.model_dump_json())["tests"][0] == {
        "test": "skill",
        "statistic": None,
        "threshold": "> 4.067",
        "window": 25,
        "p_value": 0.0,
        "fired": True,
    }


def test_a_served_row_validates_back_to_the_same_tests() -> None:
    # Airflow passes the monitor result between tasks as JSON, then validates it again.
    row = SymbolSkill.model_validate({"n": 25, "tests": [_sure_skill_loss()]})
    again = SymbolSkill.model_validate_json(row.model_dump_json())
    assert again.tests[0].statistic is None
    assert again.tests[0].model_dump(exclude={"statistic"}) == row.tests[0].model_dump(
        exclude={"statistic"}
    )


def test_the_description_names_the_test_statistic_rule_window_and_p_value() -> None:
    assert _sure_skill_loss().describe() == "skill: inf > 4.067 (n=25, p=0)"
    unknown = TriggerTest(
        test="drift:x", statistic=31.25, threshold="> 20.5", window=20, fired=True
    )
    assert unknown.describe() == "drift:x: 31.25 > 20.5 (n=20)"
    served = unknown.model_copy(update={"statistic": None, "p_value": 0.00123})
    assert served.describe() == "drift:x: null > 20.5 (n=20, p=0.0012)"


def test_a_record_is_immutable() -> None:
    with pytest.raises(pydantic.ValidationError):
        _sure_skill_loss().fired = False  # type: ignore[misc]


def test_an_untested_outcome_is_no_test() -> None:
    assert present(None) == []
    assert present(_sure_skill_loss()) == [_sure_skill_loss()]

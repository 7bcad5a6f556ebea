"""A DAG run's as-of date and options, without Airflow."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from market_predictor.config import Settings
from market_predictor.errors import InputError
from market_predictor.orchestration.home import DAGS_FOLDER, airflow_environment
from market_predictor.orchestration.run_config import (
    RunConfig,
    as_of_for_run,
    default_params,
    run_moment,
)

UTC = dt.UTC
# Monday 3 December 2012: New York closed at 16:00 EST, 21:00 UTC.
MONDAY_CLOSE = dt.datetime(2012, 12, 3, 21, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)


def test_a_run_at_or_after_monday_close_is_for_monday() -> None:
    assert as_of_for_run(MONDAY_CLOSE, "XNYS") == dt.date(2012, 12, 3)
    assert as_of_for_run(dt.datetime(2012, 12, 3, 22, 30, tzinfo=UTC), "XNYS") == dt.date(
        2012, 12, 3
    )


def test_a_run_before_monday_close_is_for_the_friday_before() -> None:
    assert as_of_for_run(MONDAY_CLOSE - SECOND, "XNYS") == dt.date(2012, 11, 30)


def test_a_run_after_midnight_utc_still_belongs_to_the_new_york_evening() -> None:
    # 01:30 UTC on Tuesday is 20:30 on Monday in New York.
    assert as_of_for_run(dt.datetime(2012, 12, 4, 1, 30, tzinfo=UTC), "XNYS") == dt.date(
        2012, 12, 3
    )


def test_the_close_follows_daylight_saving_time() -> None:
    # In July New York closes at 20:00 UTC.
    july_close = dt.datetime(2012, 7, 2, 20, 0, tzinfo=UTC)
    assert as_of_for_run(july_close, "XNYS") == dt.date(2012, 7, 2)
    assert as_of_for_run(july_close - SECOND, "XNYS") == dt.date(2012, 6, 29)


def test_an_early_close_counts_from_its_own_close() -> None:
    # The day after Thanksgiving 2012 closed at 13:00 EST (18:00 UTC).
    assert as_of_for_run(dt.datetime(2012, 11, 23, 18, 0, tzinfo=UTC), "XNYS") == dt.date(
        2012, 11, 23
    )


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2012, 12, 25, 22, 30, tzinfo=UTC),  # Christmas
        dt.datetime(2012, 12, 1, 22, 30, tzinfo=UTC),  # a Saturday
    ],
)
def test_a_day_without_a_session_has_no_work(moment: dt.datetime) -> None:
    assert as_of_for_run(moment, "XNYS") is None


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        as_of_for_run(dt.datetime(2012, 12, 3, 22, 30), "XNYS")


TRIGGERED_AT = dt.datetime(2026, 11, 27, 12, 49, tzinfo=UTC)
TICK = dt.datetime(2012, 12, 3, 22, 30, tzinfo=UTC)


def test_a_scheduled_run_stands_for_the_end_of_its_data_interval() -> None:
    # A data-interval timetable labels Monday's run with the interval's start (Friday).
    friday = dt.datetime(2012, 11, 30, 22, 30, tzinfo=UTC)
    assert run_moment("scheduled", friday, TICK, TICK) == TICK
    assert run_moment("backfill", friday, TICK, TICK) == TICK


def test_a_manual_run_stands_for_the_logical_date_its_trigger_chose() -> None:
    # Airflow infers a manual run's data interval from the moment it was triggered.
    assert run_moment("manual", TICK, TRIGGERED_AT, TRIGGERED_AT) == TICK
    assert run_moment("manual", None, None, TRIGGERED_AT) == TRIGGERED_AT


PARAMS: dict[str, Any] = default_params(Settings(symbols=["AAPL", "MSFT"]))


def test_without_variables_the_params_decide() -> None:
    config = RunConfig.resolve(PARAMS, {}, {})
    assert config.symbols == ["AAPL", "MSFT"]
    assert config.days_delay == Settings().ingest_overlap_days
    assert config.batches() == [["AAPL"], ["MSFT"]]


def test_the_originals_variables_override_the_params() -> None:
    config = RunConfig.resolve(
        PARAMS,
        {},
        {
            "ml_pipeline_symbols": '["msft", "AMZN", "META"]',
            "ml_pipeline_interval": '"1d"',
            "ml_pipeline_days_delay": "14",
            "ml_pipeline_feature_group_version": "2",
            "ml_pipeline_feature_view_version": "3",
        },
    )
    assert config.symbols == ["MSFT", "AMZN", "META"]
    assert (config.days_delay, config.feature_group_version, config.feature_view_version) == (
        14,
        2,
        3,
    )
    settings = config.settings(Settings())
    assert settings.symbols == ["MSFT", "AMZN", "META"]
    assert settings.ingest_overlap_days == 14
    assert settings.feature_group_version == 2


def test_the_triggers_conf_overrides_a_variable() -> None:
    config = RunConfig.resolve(
        PARAMS, {"symbols": ["IBM"]}, {"ml_pipeline_symbols": '["AAPL", "MSFT"]'}
    )
    assert config.symbols == ["IBM"]


def test_batches_group_symbols_by_the_batch_size() -> None:
    config = RunConfig.resolve({**PARAMS, "batch_size": 2}, {}, {"ml_pipeline_symbols": "A,B,C"})
    assert config.batches() == [["A", "B"], ["C"]]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"ml_pipeline_interval": "1h"}, "Variable ml_pipeline_interval: interval '1h'"),
        ({"ml_pipeline_days_delay": "-1"}, "Variable ml_pipeline_days_delay"),
        ({"ml_pipeline_feature_group_version": "0"}, "Variable ml_pipeline_feature_group_version"),
        ({"ml_pipeline_symbols": "[]"}, "Variable ml_pipeline_symbols: no symbols"),
        ({"ml_pipeline_symbols": '["../etc"]'}, "Variable ml_pipeline_symbols: invalid symbol"),
        ({"ml_pipeline_symbols": "14"}, "Variable ml_pipeline_symbols: symbols must be"),
    ],
)
def test_a_bad_variable_is_named_in_a_one_line_error(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError, match="^" + message.replace("[", r"\[").replace(".", r"\.")):
        RunConfig.resolve(PARAMS, {}, variables)


def test_a_days_delay_of_zero_is_allowed() -> None:
    assert RunConfig.resolve(PARAMS, {}, {"ml_pipeline_days_delay": "0"}).days_delay == 0


def test_the_local_airflow_lives_under_mpp_home_on_the_package_dags(tmp_path: Any) -> None:
    env = airflow_environment(Settings(home=tmp_path / "h"), port=8181, base={})
    assert env["AIRFLOW_HOME"] == str(tmp_path / "h" / "airflow")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS_FOLDER)
    assert (DAGS_FOLDER / "ml_pipeline.py").is_file()
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8181/execution/"
    assert env["MPP_HOME"] == str(tmp_path / "h")


def test_a_deployments_own_airflow_settings_win_over_the_small_machine_caps(
    tmp_path: Any,
) -> None:
    env = airflow_environment(Settings(home=tmp_path), base={"AIRFLOW__CORE__PARALLELISM": "32"})
    assert env["AIRFLOW__CORE__PARALLELISM"] == "32"


def test_standalone_finds_this_interpreters_airflow_without_an_activated_venv(
    tmp_path: Any,
) -> None:
    # `airflow standalone` starts its components as `airflow` from PATH; CI and cron run
    # `.venv/bin/mpp` with the venv not on PATH.
    env = airflow_environment(Settings(home=tmp_path), base={"PATH": "/usr/bin:/bin"})
    assert env["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    assert (Path(sys.executable).parent / "airflow").exists()


def test_a_postgresql_metadata_database_is_opened_async_with_psycopg_not_asyncpg(
    tmp_path: Any,
) -> None:
    # Airflow derives a postgresql+asyncpg URL for its async engine, a driver we do not
    # install: it would fail on import.
    url = "postgresql+psycopg://airflow@127.0.0.1:5432/airflow"
    env = airflow_environment(
        Settings(home=tmp_path), base={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}
    )
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == url
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == url


def test_a_deployments_own_async_metadata_url_wins(tmp_path: Any) -> None:
    own = "postgresql+asyncpg://airflow@db/airflow"
    env = airflow_environment(
        Settings(home=tmp_path),
        base={
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg://airflow@db/airflow",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": own,
        },
    )
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == own


def test_the_default_sqlite_home_leaves_the_async_url_to_airflow(tmp_path: Any) -> None:
    env = airflow_environment(Settings(home=tmp_path), base={})
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC" not in env

from __future__ import annotations

from pathlib import Path

import pytest

from market_predictor.config import MAX_FEATURE_GROUP_VERSION, Settings, get_settings
from market_predictor.errors import InputError


def test_store_and_tracking_default_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h")
    assert settings.resolved_store_uri == str((tmp_path / "h" / "store").resolve())
    assert settings.resolved_tracking_uri == f"sqlite:///{(tmp_path / 'h').resolve()}/mlflow.db"
    artifacts = settings.resolved_artifact_uri
    assert artifacts is not None and artifacts.startswith("file://")


def test_a_tracking_server_keeps_the_artifacts_unless_a_root_is_set(tmp_path: Path) -> None:
    served = Settings(home=tmp_path, mlflow_tracking_uri="http://mlflow:5000")
    assert served.resolved_artifact_uri is None
    rooted = served.model_copy(update={"mlflow_artifact_uri": "s3://bucket/artifacts"})
    assert rooted.resolved_artifact_uri == "s3://bucket/artifacts"
    assert Settings(home=tmp_path, mlflow_tracking_uri="sqlite:///x.db").resolved_artifact_uri


def test_symbols_from_environment_are_split_and_upper_cased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MPP_SYMBOLS", "aapl, msft,,ibm")
    assert Settings().symbols == ["AAPL", "MSFT", "IBM"]


def test_s3_store_uri_is_kept_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_STORE_URI", "s3://bucket/prefix/")
    assert Settings().resolved_store_uri == "s3://bucket/prefix"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MPP_MODEL_NAME=from-dotenv\n")
    get_settings.cache_clear()
    assert get_settings().model_name == "from-dotenv"


def test_settings_are_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    monkeypatch.setenv("MPP_MODEL_NAME", "changed")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().model_name == "changed"


def test_symbols_may_also_be_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_SYMBOLS", '["aapl", "ibm"]')
    assert Settings().symbols == ["AAPL", "IBM"]


# -- range checks: one line naming the variable, its value and what is allowed ---------


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("MPP_STALE_AFTER_DAYS", "-1", "greater than or equal to 0"),
        ("MPP_STALE_AFTER_DAYS", "abc", "valid integer"),
        ("MPP_INGEST_OVERLAP_DAYS", "-1", "greater than or equal to 0"),
        ("MPP_RETRAIN_COOLDOWN_DAYS", "-1", "greater than or equal to 0"),
        ("MPP_TRIGGER_ALPHA", "0", "greater than 0"),
        ("MPP_TRIGGER_ALPHA", "1", "less than 1"),
        ("MPP_MAX_MODEL_AGE_DAYS", "0", "greater than or equal to 1"),
        ("MPP_FEATURE_GROUP_VERSION", "0", "greater than or equal to 1"),
        ("MPP_FEATURE_GROUP_VERSION", str(MAX_FEATURE_GROUP_VERSION + 1), "less than or equal"),
        ("MPP_STALE_RUN_HOURS", "0", "greater than 0"),
        ("MPP_SYMBOLS", ",,,", "no symbols given"),
        ("MPP_SYMBOLS", "AAPL,../x", "invalid symbol"),
    ],
)
def test_an_invalid_setting_is_an_input_error_naming_variable_value_and_rule(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InputError) as caught:
        Settings()
    message = str(caught.value)
    assert f"{variable}={value}" in message
    assert allowed in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MPP_STALE_AFTER_DAYS", "0"),
        ("MPP_INGEST_OVERLAP_DAYS", "0"),
        ("MPP_RETRAIN_COOLDOWN_DAYS", "0"),
        ("MPP_MAX_MODEL_AGE_DAYS", "1"),
        ("MPP_FEATURE_GROUP_VERSION", "1"),
        ("MPP_FEATURE_GROUP_VERSION", str(MAX_FEATURE_GROUP_VERSION)),
    ],
)
def test_boundary_values_of_the_allowed_ranges_are_accepted(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert str(getattr(Settings(), variable.removeprefix("MPP_").lower())) in (value, f"{value}.0")


def test_get_settings_reports_an_invalid_value_as_an_input_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MPP_RETRAIN_COOLDOWN_DAYS", "-5")
    get_settings.cache_clear()
    with pytest.raises(InputError, match="MPP_RETRAIN_COOLDOWN_DAYS=-5"):
        get_settings()


# -- relative paths ----------------------------------------------------------------


def test_relative_store_uri_is_resolved_against_the_home_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MPP_STORE_URI", "data/store")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Settings().resolved_store_uri == str((tmp_path / "home" / "data" / "store").resolve())


def test_relative_artifact_and_sqlite_locations_are_resolved_against_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MPP_MLFLOW_TRACKING_URI", "sqlite:///db/mlflow.db")
    monkeypatch.setenv("MPP_MLFLOW_ARTIFACT_URI", "artifacts")
    settings = Settings()
    home = (tmp_path / "home").resolve()
    assert settings.resolved_tracking_uri == f"sqlite:///{home / 'db' / 'mlflow.db'}"
    assert settings.resolved_artifact_uri == (home / "artifacts").as_uri()


def test_absolute_and_remote_locations_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_STORE_URI", str(tmp_path / "abs"))
    monkeypatch.setenv("MPP_MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("MPP_MLFLOW_ARTIFACT_URI", "s3://bucket/artifacts")
    settings = Settings()
    assert settings.resolved_store_uri == str(tmp_path / "abs")
    assert settings.resolved_tracking_uri == "http://127.0.0.1:5000"
    assert settings.resolved_artifact_uri == "s3://bucket/artifacts"


def test_an_empty_home_variable_counts_as_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_HOME", "")
    assert Settings().resolved_home == (tmp_path / ".mpp").resolve()


def test_a_relative_home_in_dotenv_is_relative_to_the_folder_of_the_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MPP_HOME")
    (tmp_path / ".env").write_text("MPP_HOME=data/home\nMPP_STORE_URI=store2\n")
    settings = Settings()
    assert settings.resolved_home == (tmp_path / "data" / "home").resolve()
    assert settings.resolved_store_uri == str((tmp_path / "data" / "home" / "store2").resolve())


@pytest.mark.usefixtures("every_horizon_and_rival")
def test_horizons_default_to_a_day_a_week_and_a_month() -> None:
    assert Settings().horizons == (1, 5, 21)


@pytest.mark.parametrize(
    ("value", "horizons"),
    [("1", (1,)), ("21,1,5,5", (1, 5, 21)), ("[1, 2]", (1, 2)), (" 1 , 63 ", (1, 63))],
)
def test_horizons_from_the_environment_are_sorted_and_unique(
    monkeypatch: pytest.MonkeyPatch, value: str, horizons: tuple[int, ...]
) -> None:
    monkeypatch.setenv("MPP_HORIZONS", value)
    assert Settings().horizons == horizons


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("5,21", "must include 1"),
        ("0,1", "positive"),
        ("-1,1", "positive"),
        ("1,five", "whole trading days"),
        ("1,2.5", "whole trading days"),
    ],
)
def test_horizons_that_are_not_positive_days_including_1_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("MPP_HORIZONS", value)
    with pytest.raises(InputError, match=f"MPP_HORIZONS.*{problem}"):
        Settings()

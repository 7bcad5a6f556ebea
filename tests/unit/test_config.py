from __future__ import annotations

from pathlib import Path

import pytest

from market_predictor.config import Settings, get_settings


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

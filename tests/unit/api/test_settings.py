"""The API's settings from the environment: keys are a secret comma list, CORS origins
a comma list, both empty by default."""

from __future__ import annotations

import pytest

from market_predictor.config import Settings


def test_api_keys_and_cors_origins_are_empty_by_default() -> None:
    settings = Settings()
    assert settings.api_keys == []
    assert settings.cors_origins == []


def test_api_key_is_a_secret_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_API_KEY", " old-key , new-key ,")
    settings = Settings()
    assert settings.api_keys == ["old-key", "new-key"]
    assert "old-key" not in repr(settings)


def test_cors_origins_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_CORS_ORIGINS", "http://a.localhost:8501,http://b.localhost")
    assert Settings().cors_origins == ["http://a.localhost:8501", "http://b.localhost"]

"""Bearer-token auth on an empty store: health stays open, every other route needs one
of the configured keys, and the token never reaches the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from market_predictor.api.app import create_app
from market_predictor.config import Settings

KEYS = "first-key-0123456789,second-key-9876543210"
PROTECTED = [
    "/api/v1/symbols",
    "/api/v1/overview",
    "/api/v1/available_stock_symbols",
    "/api/v1/predictions/AAPL?start=2024-01-01",
    "/api/v1/metrics/AAPL/2024/1",
    "/api/v1/models/champion",
]


@pytest.fixture
def secured() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(api_key=SecretStr(KEYS)))) as client:
        yield client


def test_health_needs_no_token(secured: TestClient) -> None:
    assert secured.get("/api/v1/health").status_code == 200


@pytest.mark.parametrize("path", PROTECTED)
def test_a_missing_token_is_401_with_a_bearer_challenge(secured: TestClient, path: str) -> None:
    response = secured.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "missing bearer token"}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer first-key-012345678", "invalid bearer token"),  # a prefix of a key
        ("Bearer first-key-0123456789x", "invalid bearer token"),  # a key plus a character
        (f"Bearer {KEYS}", "invalid bearer token"),  # the whole setting is not a key
        ("Basic Zmlyc3Qta2V5LTAxMjM0NTY3ODk=", "missing bearer token"),  # not a bearer
    ],
)
def test_a_wrong_token_is_401(secured: TestClient, header: str, detail: str) -> None:
    response = secured.get("/api/v1/symbols", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("key", KEYS.split(","))
def test_every_configured_key_is_accepted(secured: TestClient, key: str) -> None:
    response = secured.get("/api/v1/symbols", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json() == {"symbols": []}


def test_without_a_key_setting_the_api_is_open() -> None:
    with TestClient(create_app(Settings(api_key=SecretStr(" , ")))) as client:
        assert client.get("/api/v1/symbols").status_code == 200


def test_the_token_never_appears_in_the_logs_or_error_bodies(
    secured: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    good, wrong = KEYS.split(",")[0], "wrong-token-5555555555"
    with caplog.at_level(logging.DEBUG):
        ok = secured.get("/api/v1/symbols", headers={"Authorization": f"Bearer {good}"})
        bad = secured.get("/api/v1/overview", headers={"Authorization": f"Bearer {wrong}"})
        secured.get("/api/v1/prices/AAPL?start=nope", headers={"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200 and bad.status_code == 401
    assert good not in caplog.text and wrong not in caplog.text
    assert wrong not in bad.text
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith(".access")]
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/api/v1/symbols", 200),
        ("/api/v1/overview", 401),
        ("/api/v1/prices/{symbol}", 422),
    ]
    assert all(line["ms"] >= 0 for line in lines)


def test_cors_headers_only_for_configured_origins() -> None:
    origin = "http://dashboard.localhost:8501"
    with TestClient(create_app(Settings(cors_origins=[origin]))) as client:
        allowed = client.get("/api/v1/health", headers={"Origin": origin})
        other = client.get("/api/v1/health", headers={"Origin": "http://evil.localhost"})
    assert allowed.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in other.headers
    with TestClient(create_app(Settings())) as client:
        default = client.get("/api/v1/health", headers={"Origin": origin})
    assert "access-control-allow-origin" not in default.headers

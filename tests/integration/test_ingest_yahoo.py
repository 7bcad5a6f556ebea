"""`mpp ingest --source yfinance` with the source built as production builds it (no
injected session): Yahoo's chart API is replayed at the HTTP transport, and its
failures are scripted: timeouts and dropped connections are retried, a refused request
is not, and running out of retries exits 1 with nothing written."""

from __future__ import annotations

import http.client
import json

import pytest
import requests
from typer.testing import CliRunner

from market_predictor.cli import app
from market_predictor.config import Settings, get_settings
from market_predictor.store import FeatureStore
from tests.fixtures.data import YahooReplay

runner = CliRunner()
RETRIES = 2
INGEST = [
    "ingest", "--source", "yfinance", "--start", "2013-02-19", "--as-of", "2013-03-01",
]  # fmt: skip
BARS = 9  # trading days from 19 February to 1 March 2013


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MPP_YAHOO_RETRIES", str(RETRIES))
    monkeypatch.setenv("MPP_YAHOO_BACKOFF_SECONDS", "0.001")
    get_settings.cache_clear()
    return get_settings()


def _timeout() -> Exception:
    return requests.exceptions.ReadTimeout("Read timed out. (read timeout=20)")


def _dropped() -> Exception:
    reason = http.client.RemoteDisconnected("Remote end closed connection without response")
    return requests.exceptions.ConnectionError(("Connection aborted.", reason))


def _nothing_written(settings: Settings) -> bool:
    return FeatureStore.from_settings(settings).prices().table_version() is None


@pytest.mark.parametrize("error", [_timeout, _dropped], ids=["timeout", "dropped connection"])
def test_transient_transport_failures_are_retried_until_the_ingest_succeeds(
    yahoo: YahooReplay, quick_retries: Settings, error
) -> None:  # type: ignore[no-untyped-def]
    yahoo.break_transport("AAPL", times=RETRIES, error=error())
    result = runner.invoke(app, [*INGEST, "--symbols", "AAPL,MSFT", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == 2 * BARS
    assert yahoo.requests.count("AAPL") == RETRIES + 1
    assert yahoo.requests.count("MSFT") == 1


@pytest.mark.parametrize("error", [_timeout, _dropped], ids=["timeout", "dropped connection"])
def test_running_out_of_retries_exits_1_and_writes_nothing(
    yahoo: YahooReplay, quick_retries: Settings, error
) -> None:  # type: ignore[no-untyped-def]
    yahoo.break_transport("AAPL", times=RETRIES + 1, error=error())
    result = runner.invoke(app, [*INGEST, "--symbols", "AAPL"])
    assert result.exit_code == 1, result.output
    assert f"kept failing for AAPL after {RETRIES + 1} attempts" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert yahoo.requests.count("AAPL") == RETRIES + 1
    assert _nothing_written(quick_retries)


# On an error status yfinance itself asks once more with its other cookie strategy, so
# one attempt of ours is two requests when the answer is an error page.
PER_ATTEMPT = 2


def test_server_error_pages_past_the_retries_exit_1(
    yahoo: YahooReplay, quick_retries: Settings
) -> None:
    yahoo.fail("MSFT", times=100, status=503)
    result = runner.invoke(app, [*INGEST, "--symbols", "MSFT"])
    assert result.exit_code == 1, result.output
    assert f"after {RETRIES + 1} attempts" in result.stderr
    assert yahoo.requests.count("MSFT") == PER_ATTEMPT * (RETRIES + 1)
    assert _nothing_written(quick_retries)


UNAUTHORIZED = json.dumps(
    {"finance": {"result": None, "error": {"code": "Unauthorized", "description": "Invalid"}}}
)
BAD_REQUEST = json.dumps(
    {"chart": {"result": None, "error": {"code": "Bad Request", "description": "Invalid"}}}
)


@pytest.mark.parametrize(
    ("status", "body"), [(400, BAD_REQUEST), (401, UNAUTHORIZED), (403, UNAUTHORIZED)]
)
def test_a_refused_request_is_not_retried_and_writes_nothing(
    yahoo: YahooReplay, quick_retries: Settings, status: int, body: str
) -> None:
    yahoo.fail("AAPL", times=100, status=status, body=body)
    result = runner.invoke(app, [*INGEST, "--symbols", "AAPL"])
    # yfinance reports Yahoo's refusal as "no price data": the ingest names the symbol.
    assert result.exit_code == 2, result.output
    assert "no daily prices for AAPL" in result.stderr
    assert yahoo.requests.count("AAPL") == PER_ATTEMPT
    assert _nothing_written(quick_retries)


def test_the_retry_budget_comes_from_the_settings(
    yahoo: YahooReplay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPP_YAHOO_RETRIES", "0")
    get_settings.cache_clear()
    yahoo.break_transport("AAPL", times=1, error=_timeout())
    result = runner.invoke(app, [*INGEST, "--symbols", "AAPL"])
    assert result.exit_code == 1, result.output
    assert yahoo.requests.count("AAPL") == 1

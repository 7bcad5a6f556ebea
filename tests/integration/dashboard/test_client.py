"""The dashboard's API client against a real API process: ETag revalidation and the
typed errors behind the dashboard's messages."""

from __future__ import annotations

import pytest

from market_predictor.dashboard.client import (
    ApiAuthError,
    ApiClient,
    ApiError,
    ApiUnavailableError,
    NoDataError,
)
from tests.integration.dashboard.conftest import ServedApi, free_port


def test_a_second_read_is_revalidated_with_the_etag_and_reuses_the_body(
    served_api: ServedApi,
) -> None:
    client = ApiClient(served_api.url, served_api.token)
    first = client.get("/overview")
    second = client.get("/overview")
    assert client.not_modified == 1
    assert second == first
    assert [row["symbol"] for row in first["symbols"]] == ["AAPL", "MSFT"]


def test_reads_with_other_parameters_are_not_answered_from_another_url(
    served_api: ServedApi,
) -> None:
    client = ApiClient(served_api.url, served_api.token)
    six_weeks = client.get("/prices/AAPL", {"start": "2012-11-01", "end": "2012-12-14"})
    first_week = client.get("/prices/AAPL", {"start": "2012-12-03", "end": "2012-12-07"})
    assert client.not_modified == 0
    assert first_week["count"] == 5 < six_weeks["count"]


def test_an_unreachable_api_is_reported_as_unavailable_with_how_to_start_it() -> None:
    client = ApiClient(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ApiUnavailableError, match="mpp serve"):
        client.get("/health")


def test_a_wrong_token_and_a_missing_token_get_different_messages(served_api: ServedApi) -> None:
    with pytest.raises(ApiAuthError, match="not one of the API's keys"):
        ApiClient(served_api.url, "wrong-token").get("/symbols")
    with pytest.raises(ApiAuthError, match="has none: set MPP_API_KEY"):
        ApiClient(served_api.url).get("/symbols")


def test_an_unknown_symbol_is_no_data_and_a_bad_range_is_a_plain_error(
    served_api: ServedApi,
) -> None:
    client = ApiClient(served_api.url, served_api.token)
    with pytest.raises(NoDataError, match="ZZZZ"):
        client.get("/predictions/ZZZZ")
    with pytest.raises(ApiError, match="after end") as caught:
        client.get("/prices/AAPL", {"start": "2012-12-31", "end": "2012-12-01"})
    assert not isinstance(caught.value, NoDataError | ApiUnavailableError | ApiAuthError)

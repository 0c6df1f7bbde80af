"""The month's X usage (GET /2/usage/tweets): read from a recorded answer, X's own reason when refused."""

from __future__ import annotations

import pytest
import responses

from osint_desktop.core.crawl.social import USAGE_URL, XUsage, XUsageError, fetch_usage
from tests.helpers import FAKE_TOKEN, fast_limits, x_json


def test_the_usage_is_read_from_the_answers_data(x_api: responses.RequestsMock) -> None:
    x_api.add(responses.GET, USAGE_URL, body=x_json("usage_tweets.json"), status=200,
              content_type="application/json")
    assert fetch_usage(FAKE_TOKEN, fast_limits()) == XUsage(2236, 10000, 19)
    assert x_api.calls[0].request.headers["Authorization"] == f"Bearer {FAKE_TOKEN}"


def test_a_plan_without_usage_access_gives_xs_reason_and_never_the_token(
    x_api: responses.RequestsMock,
) -> None:
    x_api.add(responses.GET, USAGE_URL, body=x_json("error_403.json"), status=403,
              content_type="application/json")
    with pytest.raises(XUsageError) as caught:
        fetch_usage(FAKE_TOKEN, fast_limits())
    message = str(caught.value)
    assert message.startswith("X refused the usage request (HTTP 403): When authenticating requests")
    assert FAKE_TOKEN not in message


def test_no_token_asks_nothing(x_api: responses.RequestsMock) -> None:
    with pytest.raises(XUsageError, match="no X bearer token"):
        fetch_usage("", fast_limits())
    assert not x_api.calls

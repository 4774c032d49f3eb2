"""inkwell.eventbridge: the call's limits and the endpoint (signatures: test_sigv4.py)."""

from __future__ import annotations

import pytest

from inkwell import eventbridge
from inkwell.eventbridge import (
    MAX_ENTRIES_PER_CALL,
    Entry,
    EventBridgeClient,
    endpoint,
)


@pytest.mark.parametrize("count", [0, MAX_ENTRIES_PER_CALL + 1])
def test_put_events_refuses_0_or_more_than_10_entries(count: int) -> None:
    # Refused before any connection is opened: the endpoint does not exist.
    client = EventBridgeClient(region="us-east-1")
    client.url = "http://127.0.0.1:9/"
    entries = [Entry("inkwell.users", "user.updated", "{}", "bus")] * count
    with pytest.raises(ValueError, match="1 to 10 entries"):
        client.put_events(entries)
    assert client._conn is None


def test_put_events_without_credentials_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    client = EventBridgeClient(region="us-east-1")
    with pytest.raises(eventbridge.EventBridgeUnavailable, match="credentials"):
        client.put_events([Entry("inkwell.users", "user.updated", "{}", "bus")])


def test_endpoint_prefers_the_events_specific_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTS", "http://127.0.0.1:4010/_aws/events")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert endpoint("eu-west-1") == "http://127.0.0.1:4010/_aws/events"
    assert EventBridgeClient(region="eu-west-1").url == "http://127.0.0.1:4010/_aws/events"


def test_endpoint_falls_back_to_the_general_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_EVENTS", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert endpoint("eu-west-1") == "http://127.0.0.1:4566"


def test_endpoint_defaults_to_the_regional_aws_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_EVENTS", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert endpoint("eu-west-1") == "https://events.eu-west-1.amazonaws.com"
    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTS", "")  # empty counts as unset
    assert endpoint("us-east-2") == "https://events.us-east-2.amazonaws.com"


def test_client_region_comes_from_the_lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_EVENTS", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert EventBridgeClient().url == "https://events.eu-central-1.amazonaws.com"

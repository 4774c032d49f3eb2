"""inkwell.eventbridge: the SigV4 signature matches botocore's, the call's limits, the endpoint."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from inkwell import eventbridge
from inkwell.eventbridge import (
    MAX_ENTRIES_PER_CALL,
    Entry,
    EventBridgeClient,
    endpoint,
    sigv4_headers,
)

TARGET = "AWSEvents.PutEvents"
CONTENT_TYPE = "application/x-amz-json-1.1"


def botocore_signed(url: str, body: bytes, region: str, access_key: str, secret_key: str,
                    token: str | None) -> AWSRequest:
    request = AWSRequest(
        method="POST", url=url, data=body,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET},
    )
    SigV4Auth(Credentials(access_key, secret_key, token), "events", region).add_auth(request)
    return request


def body_of(n: int) -> bytes:
    entries = [Entry("inkwell.users", "user.updated",
                     json.dumps({"data": {"bio": f"caf\u00e9 #{i} \u2603"}}), "inkwell-bus")
               for i in range(n)]
    return json.dumps({"Entries": [e.to_api() for e in entries]}).encode()


@pytest.mark.parametrize(
    ("url", "region", "token"),
    [
        ("https://events.eu-west-1.amazonaws.com", "eu-west-1", None),
        ("https://events.us-east-1.amazonaws.com/", "us-east-1", "FwoGZXIvYXdzE-session/token=="),
        ("http://127.0.0.1:4566/_aws/events", "us-east-1", None),
        ("http://localhost:8000/_aws/events", "ap-southeast-2", "session-token"),
    ],
    ids=["aws", "aws-session-token", "local-path-and-port", "local-session-token"],
)
def test_signature_equals_botocore_sigv4(url: str, region: str, token: str | None) -> None:
    body = body_of(3)
    access_key, secret_key = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    signed = botocore_signed(url, body, region, access_key, secret_key, token)
    amz_date = signed.headers["X-Amz-Date"]
    frozen = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)

    ours = sigv4_headers(url=url, body=body, region=region, access_key=access_key,
                         secret_key=secret_key, session_token=token, target=TARGET, now=frozen)

    assert ours["authorization"] == signed.headers["Authorization"]
    assert ours["x-amz-date"] == amz_date
    assert ours["x-amz-target"] == TARGET
    assert ours["content-type"] == CONTENT_TYPE
    if token is None:
        assert "x-amz-security-token" not in ours
    else:
        assert ours["x-amz-security-token"] == signed.headers["X-Amz-Security-Token"] == token


def test_signature_depends_on_body_time_and_secret() -> None:
    url, moment = "https://events.us-east-1.amazonaws.com", dt.datetime(2025, 1, 15, 9, 30,
                                                                          tzinfo=dt.UTC)

    def auth(body: bytes = b"{}", now: dt.datetime = moment, secret: str = "s1") -> str:
        return sigv4_headers(url=url, body=body, region="us-east-1", access_key="AK",
                             secret_key=secret, session_token=None, target=TARGET,
                             now=now)["authorization"]

    base = auth()
    assert base.startswith("AWS4-HMAC-SHA256 Credential=AK/20250115/us-east-1/events/aws4_request,")
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-target," in base
    assert auth(body=b'{"Entries":[]}') != base
    assert auth(now=moment + dt.timedelta(seconds=1)) != base
    assert auth(secret="s2") != base


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

"""A minimal EventBridge PutEvents client: SigV4-signed HTTPS with the standard library.

Why not boto3: creating a boto3 EventBridge client costs 150-250 ms of cold start (measured
with `python -c "import boto3; boto3.client('events')"`), which every writing function would
pay on its first request. PutEvents is one JSON call, so this module speaks it directly and
imports nothing heavy. Credentials come from the standard variables Lambda sets
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the endpoint honours
``AWS_ENDPOINT_URL_EVENTS`` / ``AWS_ENDPOINT_URL`` like the AWS SDKs, which is how the local
event bus and moto's server stand in for EventBridge off AWS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_ENTRIES_PER_CALL = 10  # PutEvents' limit
_TARGET = "AWSEvents.PutEvents"
_CONTENT_TYPE = "application/x-amz-json-1.1"


class EventBridgeUnavailable(Exception):
    """The call did not reach EventBridge or was refused as a whole."""


@dataclass(frozen=True)
class Entry:
    source: str
    detail_type: str
    detail: str  # JSON text
    bus_name: str

    def to_api(self) -> dict[str, Any]:
        return {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": self.detail,
            "EventBusName": self.bus_name,
        }


@dataclass(frozen=True)
class EntryResult:
    event_id: str | None
    error_code: str | None
    error_message: str | None

    @property
    def ok(self) -> bool:
        return self.error_code is None and self.event_id is not None


def endpoint(region: str) -> str:
    return (
        os.environ.get("AWS_ENDPOINT_URL_EVENTS")
        or os.environ.get("AWS_ENDPOINT_URL")
        or f"https://events.{region}.amazonaws.com"
    )


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sigv4_headers(
    *,
    url: str,
    body: bytes,
    region: str,
    access_key: str,
    secret_key: str,
    session_token: str | None,
    target: str,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """Headers of a SigV4-signed AWS JSON 1.1 POST (service "events")."""
    moment = now or dt.datetime.now(dt.UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urlsplit(url)
    host = parts.netloc
    headers = {
        "content-type": _CONTENT_TYPE,
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-target": target,
    }
    if session_token:
        headers["x-amz-security-token"] = session_token
    signed = sorted(headers)
    canonical = "\n".join(
        [
            "POST",
            parts.path or "/",
            "",
            "".join(f"{name}:{headers[name].strip()}\n" for name in signed),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/events/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _sign(_sign(_sign(_sign(f"AWS4{secret_key}".encode(), day), region), "events"),
                "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return headers


class EventBridgeClient:
    """PutEvents over one kept-alive HTTPS connection, reused across warm invocations."""

    def __init__(self, region: str | None = None, timeout_s: float = 3.0) -> None:
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION", "us-east-1"
        )
        self.url = endpoint(self.region)
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None
        # One request/response at a time on the one connection: http.client connections
        # are not thread-safe, and the local platform runs execution environments (and the
        # tests run relays) on several threads of one process, all sharing this client.
        self._lock = threading.RLock()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            parts = urlsplit(self.url)
            if parts.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    parts.netloc, timeout=self.timeout_s, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(parts.netloc, timeout=self.timeout_s)
        return self._conn

    def put_events(self, entries: list[Entry]) -> list[EntryResult]:
        """Send up to 10 entries; one result per entry, in order."""
        if not 1 <= len(entries) <= MAX_ENTRIES_PER_CALL:
            raise ValueError(f"PutEvents takes 1 to {MAX_ENTRIES_PER_CALL} entries")
        body = json.dumps({"Entries": [e.to_api() for e in entries]}).encode()
        access_key = os.environ.get("AWS_ACCESS_KEY_ID", "")
        secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not access_key or not secret_key:
            raise EventBridgeUnavailable("no AWS credentials in the environment")
        headers = sigv4_headers(
            url=self.url, body=body, region=self.region, access_key=access_key,
            secret_key=secret_key, session_token=os.environ.get("AWS_SESSION_TOKEN"),
            target=_TARGET,
        )
        path = urlsplit(self.url).path or "/"
        with self._lock:
            for attempt in (1, 2):  # a kept-alive connection may have closed while frozen
                try:
                    conn = self._connection()
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    break
                except (OSError, http.client.HTTPException) as exc:
                    self.close()
                    if attempt == 2:
                        raise EventBridgeUnavailable(
                            f"PutEvents failed: {type(exc).__name__}"
                        ) from exc
        if response.status != 200:
            raise EventBridgeUnavailable(f"PutEvents answered HTTP {response.status}")
        results = json.loads(payload).get("Entries") or []
        if len(results) != len(entries):
            raise EventBridgeUnavailable("PutEvents returned a different number of entries")
        return [
            EntryResult(r.get("EventId"), r.get("ErrorCode"), r.get("ErrorMessage"))
            for r in results
        ]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

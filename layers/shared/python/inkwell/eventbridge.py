"""A minimal EventBridge PutEvents client on inkwell.awsjson (no boto3).

Why not boto3: creating a boto3 EventBridge client costs 150-250 ms of cold start, which
every writing function would pay on its first request. PutEvents is one JSON call. The
endpoint honours ``AWS_ENDPOINT_URL_EVENTS`` / ``AWS_ENDPOINT_URL`` like the AWS SDKs, which
is how the local event bus and moto's server stand in for EventBridge off AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inkwell import awsjson

MAX_ENTRIES_PER_CALL = 10  # PutEvents' limit


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
    return awsjson.endpoint("EVENTS", "events", region)


class EventBridgeClient(awsjson.AwsJsonClient):
    """PutEvents over one kept-alive HTTPS connection, reused across warm invocations."""

    def __init__(self, region: str | None = None, timeout_s: float = 3.0) -> None:
        super().__init__(
            signing_name="events",
            target_prefix="AWSEvents",
            endpoint_id="EVENTS",
            region_name=region,
            timeout_s=timeout_s,
        )

    def put_events(self, entries: list[Entry]) -> list[EntryResult]:
        """Send up to 10 entries; one result per entry, in order."""
        if not 1 <= len(entries) <= MAX_ENTRIES_PER_CALL:
            raise ValueError(f"PutEvents takes 1 to {MAX_ENTRIES_PER_CALL} entries")
        try:
            answer = self.call("PutEvents", {"Entries": [e.to_api() for e in entries]})
        except awsjson.AwsCallFailed as exc:
            raise EventBridgeUnavailable(str(exc)) from exc
        results = answer.get("Entries") or []
        if len(results) != len(entries):
            raise EventBridgeUnavailable("PutEvents returned a different number of entries")
        return [
            EntryResult(r.get("EventId"), r.get("ErrorCode"), r.get("ErrorMessage"))
            for r in results
        ]

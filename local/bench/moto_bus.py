"""moto's EventBridge (and SQS), in this process, as the bus the events section publishes to.

`MotoBus` starts moto's server on a free loopback port (`ThreadedMotoServer`) and creates two
buses, each with one rule per consumer of `wiring.CONSUMERS` (the consumer's declared event
pattern, as CDK deploys it):

- ``ROUTED`` (the bus name `local.platform.events_environment` sets): every rule targets an
  SQS queue of its own, so a published event is really routed. moto delivers to the targets
  *inside* the PutEvents request (EventBridge accepts first and delivers asynchronously),
  and each delivery costs moto several milliseconds (it builds a jsonpath parser for the
  target's input template on every delivery);
- ``UNROUTED``: the same rules without targets. PutEvents is answered after the entries are
  validated and matched, which is the part of the work EventBridge does before answering.

The functions publish with their own client (`inkwell.eventbridge`), pointed at moto by the
environment of `environment()`. `PutEventsLog` instruments that client's `put_events` (every
call, its entries, results and duration; the call itself is unchanged).

moto's SQS scans a whole queue on every send, so a queue left to grow makes every later
delivery slower. A drainer thread therefore takes the delivered messages off the queues
(through moto's in-process backend, as a consumer polling the queue would), every 20 ms,
and keeps them for `delivered()` to check against what was published.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import wiring
from inkwell import events
from inkwell.eventbridge import Entry, EntryResult, EventBridgeClient
from local import platform

REGION = "us-east-1"
UNROUTED = "inkwell-bench-no-targets"
DRAIN_INTERVAL_S = 0.02


@dataclass(frozen=True)
class PutCall:
    """One PutEvents call a function or the relay made."""

    seconds: float
    entries: tuple[Entry, ...]
    results: tuple[EntryResult, ...] = ()
    error: str | None = None

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def bus(self) -> str | None:
        return self.entries[0].bus_name if self.entries else None


@dataclass
class PutEventsLog:
    """Records every `EventBridgeClient.put_events` call while `active()` runs."""

    calls: list[PutCall] = field(default_factory=list)

    @contextmanager
    def active(self) -> Iterator[PutEventsLog]:
        original = EventBridgeClient.put_events
        calls = self.calls
        clock = time.perf_counter

        def put_events(client: EventBridgeClient, entries: list[Entry]) -> list[EntryResult]:
            start = clock()
            try:
                results = original(client, entries)
            except Exception as exc:
                calls.append(PutCall(clock() - start, tuple(entries),
                                     error=f"{type(exc).__name__}: {exc}"))
                raise
            calls.append(PutCall(clock() - start, tuple(entries), tuple(results)))
            return results

        setattr(EventBridgeClient, "put_events", put_events)  # noqa: B010
        try:
            yield self
        finally:
            setattr(EventBridgeClient, "put_events", original)  # noqa: B010

    def since(self, mark: int) -> list[PutCall]:
        return self.calls[mark:]


def event_ids(calls: Sequence[PutCall]) -> dict[str, str]:
    """eventId -> detail-type of every entry that moto accepted in `calls`."""
    found: dict[str, str] = {}
    for call in calls:
        for entry, result in zip(call.entries, call.results, strict=False):
            if result.ok:
                found[json.loads(entry.detail)["eventId"]] = entry.detail_type
    return found


def expected_deliveries(published: dict[str, str],
                        consumers: Sequence[wiring.Consumer]) -> dict[str, set[str]]:
    """Per consumer, the event ids its rule should have delivered (by detail-type)."""
    return {
        c.name: {event_id for event_id, kind in published.items() if kind in c.events}
        for c in consumers
    }


class MotoBus:
    def __init__(self, consumers: Sequence[wiring.Consumer]) -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request
        self.consumers = tuple(consumers)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._environment = platform.events_environment(self.url)
        self.routed = self._environment["INKWELL_EVENT_BUS_NAME"]
        self.unrouted = UNROUTED
        credentials = {"aws_access_key_id": self._environment["AWS_ACCESS_KEY_ID"],
                       "aws_secret_access_key": self._environment["AWS_SECRET_ACCESS_KEY"]}
        eventbridge = boto3.client("events", endpoint_url=self.url, region_name=REGION,
                                   **credentials)
        sqs = boto3.client("sqs", endpoint_url=self.url, region_name=REGION, **credentials)
        self.queues: dict[str, str] = {}  # consumer -> queue name
        for bus in (self.routed, self.unrouted):
            eventbridge.create_event_bus(Name=bus)
            for consumer in self.consumers:
                eventbridge.put_rule(Name=consumer.name, EventBusName=bus,
                                     EventPattern=json.dumps(consumer.pattern()),
                                     State="ENABLED")
        for consumer in self.consumers:
            name = f"bench-{consumer.name}"
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
            eventbridge.put_targets(Rule=consumer.name, EventBusName=self.routed,
                                    Targets=[{"Id": "queue", "Arn": arn}])
            self.queues[consumer.name] = name
        self._bodies: dict[str, list[str]] = {c: [] for c in self.queues}
        self._stop = threading.Event()
        self._drainer = threading.Thread(target=self._drain_forever, name="bench-sqs-drainer",
                                         daemon=True)
        self._drainer.start()

    # --- the functions' environment ------------------------------------------------------

    def environment(self, bus: str | None) -> dict[str, str | None]:
        """The variables to set (None: unset) for the functions to publish to `bus`."""
        return {**self._environment, "INKWELL_EVENT_BUS_NAME": bus}

    @contextmanager
    def publishing(self) -> Iterator[None]:
        """The functions' EventBridge client points at moto while the block runs."""
        saved = {name: os.environ.get(name) for name in self._environment}
        set_environment(self.environment(None))
        reset_clients()  # a client reads the endpoint when it is made
        try:
            yield
        finally:
            reset_clients()
            set_environment(saved)

    # --- deliveries ----------------------------------------------------------------------

    def _queue(self, consumer: str) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        return sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[self.queues[consumer]]

    def _drain(self) -> None:
        for consumer in self.queues:
            queue = self._queue(consumer)
            with queue._messages_lock:  # moto appends under this lock
                taken, queue._messages = queue._messages, []
            self._bodies[consumer].extend(m.body for m in taken)

    def _drain_forever(self) -> None:
        while not self._stop.wait(DRAIN_INTERVAL_S):
            self._drain()

    def delivered(self) -> dict[str, list[str]]:
        """Per consumer, the eventId of every event its queue received, in order."""
        self._drain()
        return {c: [json.loads(b)["detail"]["eventId"] for b in bodies]
                for c, bodies in self._bodies.items()}

    def forget_deliveries(self) -> None:
        self._drain()
        for bodies in self._bodies.values():
            bodies.clear()

    def close(self) -> None:
        self._stop.set()
        self._drainer.join(timeout=5)
        self._server.stop()


def reset_clients() -> None:
    """Close the functions' cached EventBridge clients and forget them."""
    for timeout_s in (events.REQUEST_TIMEOUT_S, events.RELAY_TIMEOUT_S):
        events.client(timeout_s).close()
    events.client.cache_clear()


def set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def check_deliveries(delivered: dict[str, list[str]], expected: dict[str, set[str]]
                     ) -> list[str]:
    """Problems: an event a queue missed, got twice, or should not have got."""
    problems = []
    for consumer, wanted in expected.items():
        got = delivered.get(consumer, [])
        missing = wanted - set(got)
        extra = set(got) - wanted
        twice = len(got) - len(set(got))
        if missing or extra or twice:
            problems.append(f"{consumer} queue: {len(missing)} missing, {len(extra)} unexpected,"
                            f" {twice} duplicated of {len(wanted)} events")
    return problems

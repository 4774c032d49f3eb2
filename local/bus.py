"""The local event bus: EventBridge's PutEvents, rules, retries and dead letters, in process.

Functions publish with the same client they use on AWS (``inkwell.eventbridge``): the local
platform points ``AWS_ENDPOINT_URL_EVENTS`` at this bus's HTTP endpoint. Each accepted entry
becomes a real EventBridge event payload, is matched against the rules declared in
``wiring.CONSUMERS`` (the same patterns CDK deploys) and delivered asynchronously to the
real consumer handlers. A failing delivery is retried as Lambda retries an asynchronous
invocation (``max_retries`` times, with a delay), then parked in the dead-letter store.

Everything is written to JSON-lines files under ``<data dir>/bus/`` so that
``make events`` can list recent events, their deliveries and the dead letters.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import wiring
from local import apigw
from local.dispatch import ExecutionEnvironment

PUT_EVENTS_TARGET = "AWSEvents.PutEvents"
MAX_DETAIL_BYTES = 256 * 1024


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class BusLog:
    """Append-only JSON-lines records of events, deliveries and dead letters."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, kind: str, record: dict[str, Any]) -> None:
        line = json.dumps({"at": _now_iso(), **record}, separators=(",", ":"))
        with self._lock, (self.directory / f"{kind}.jsonl").open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def read(self, kind: str) -> list[dict[str, Any]]:
        path = self.directory / f"{kind}.jsonl"
        if not path.exists():
            return []
        return [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    consumer: wiring.Consumer = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    attempt: int = field(default=0, compare=False)


def matches(pattern: dict[str, list[str]], event: dict[str, Any]) -> bool:
    """EventBridge matching for the patterns Inkwell declares: field value in a list."""
    return all(event.get(key) in allowed for key, allowed in pattern.items())


class LocalEventBus:
    def __init__(
        self,
        state_dir: Path,
        *,
        bus_name: str,
        environment: ExecutionEnvironment | None = None,
        retry_delay_s: float = 1.0,
        consumers: tuple[wiring.Consumer, ...] | None = None,
    ) -> None:
        self.bus_name = bus_name
        self.log = BusLog(state_dir / "bus")
        # Consumers run in their own execution environment, as their own Lambdas do.
        self._owns_environment = environment is None
        self.environment = environment or ExecutionEnvironment("inkwell-consumers")
        self.retry_delay_s = retry_delay_s
        self.consumers = wiring.CONSUMERS if consumers is None else consumers
        self._pending: list[_Delivery] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0
        self._stopping = False
        self._worker = threading.Thread(target=self._run, name="local-event-bus", daemon=True)
        self._worker.start()

    # --- PutEvents ---------------------------------------------------------------------

    def put_events(self, request: dict[str, Any]) -> dict[str, Any]:
        results: list[dict[str, str]] = []
        for entry in request.get("Entries") or []:
            problem = self._invalid(entry)
            if problem:
                results.append({"ErrorCode": problem[0], "ErrorMessage": problem[1]})
                continue
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": apigw.ACCOUNT,
                "time": _now_iso(),
                "region": apigw.REGION,
                "resources": entry.get("Resources") or [],
                "detail": json.loads(entry["Detail"]),
            }
            self.log.append("events", {"event": event})
            self._route(event)
            results.append({"EventId": event["id"]})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def _invalid(self, entry: dict[str, Any]) -> tuple[str, str] | None:
        if entry.get("EventBusName") not in (self.bus_name, None):
            return "InvalidArgument", f"Event bus {entry.get('EventBusName')} does not exist."
        if not entry.get("Source") or not entry.get("DetailType"):
            return "InvalidArgument", "Source and DetailType are required."
        detail = entry.get("Detail")
        if not isinstance(detail, str) or len(detail.encode()) > MAX_DETAIL_BYTES:
            return "InvalidArgument", "Detail must be a JSON string of at most 256 KB."
        try:
            parsed = json.loads(detail)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return "MalformedDetail", "Detail is malformed."
        return None

    # --- delivery ----------------------------------------------------------------------

    def _route(self, event: dict[str, Any]) -> None:
        for consumer in self.consumers:
            if matches(consumer.pattern(), event):
                self._schedule(_Delivery(time.monotonic(), next(self._seq), consumer, event))

    def _schedule(self, delivery: _Delivery) -> None:
        with self._cond:
            heapq.heappush(self._pending, delivery)
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (
                    not self._pending or self._pending[0].due > time.monotonic()
                ):
                    timeout = self._pending[0].due - time.monotonic() if self._pending else None
                    self._cond.wait(timeout)
                if self._stopping:
                    return
                delivery = heapq.heappop(self._pending)
                self._busy += 1
            try:
                self._deliver(delivery)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _deliver(self, delivery: _Delivery) -> None:
        consumer, event = delivery.consumer, delivery.event
        record = {
            "eventId": event["id"],
            "detailType": event["detail-type"],
            "consumer": consumer.name,
            "attempt": delivery.attempt + 1,
        }
        try:
            result = self.environment.invoke(consumer, event)
        except Exception as exc:
            error = type(exc).__name__
            self.log.append("deliveries", {**record, "status": "failed", "error": error})
            if delivery.attempt < consumer.max_retries:
                delivery.attempt += 1
                delivery.due = time.monotonic() + self.retry_delay_s * delivery.attempt
                delivery.seq = next(self._seq)
                self._schedule(delivery)
            else:
                self.log.append("dead-letters", {**record, "error": error, "event": event})
            return
        self.log.append("deliveries", {**record, "status": "ok", "result": result})

    def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until every delivery (and retry) has finished; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._worker.join(timeout=5)
        if self._owns_environment:
            self.environment.close()


def handle_put_events(
    bus: LocalEventBus, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, Any]]:
    """The HTTP side of PutEvents (AWS JSON 1.1); status and JSON body."""
    target = headers.get("x-amz-target", "")
    if target != PUT_EVENTS_TARGET:
        return 400, {
            "__type": "UnknownOperationException",
            "message": f"The local bus supports {PUT_EVENTS_TARGET} only.",
        }
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return 400, {"__type": "SerializationException", "message": "Body is not JSON."}
    return 200, bus.put_events(request)


def serve(bus: LocalEventBus, port: int = 0) -> ThreadingHTTPServer:
    """A stand-alone HTTP endpoint for the bus (the gateway also mounts it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            status, payload = handle_put_events(
                bus, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/x-amz-json-1.1")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the bus keeps its own log

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="local-bus-http", daemon=True).start()
    return server


def scheduled_event(
    function: wiring.Function, *, event_id: str | None = None, at: str | None = None
) -> dict[str, Any]:
    """The event EventBridge Scheduler sends to a scheduled Lambda."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": apigw.ACCOUNT,
        "time": at or _now_iso(),
        "region": apigw.REGION,
        "resources": [
            f"arn:aws:scheduler:{apigw.REGION}:{apigw.ACCOUNT}:schedule/default/{function.name}"
        ],
        "detail": {},
    }


class ScheduleTimer:
    """Runs the scheduled functions (the outbox relays, ...) on a timer, as EventBridge
    Scheduler runs them on AWS; every few seconds rather than every minute, for a quick
    local feedback loop."""

    def __init__(self, run_relay: Callable[[], None], interval_s: float = 5.0) -> None:
        self.run_relay = run_relay
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-relay", daemon=True)

    @classmethod
    def for_scheduled(
        cls, environment: ExecutionEnvironment, interval_s: float = 5.0
    ) -> ScheduleTimer:
        def run_all() -> None:
            for function in wiring.SCHEDULED:
                try:
                    environment.invoke(function, scheduled_event(function))
                except Exception as exc:  # the next tick tries again, as the schedule would
                    print(f"{function.name} failed: {type(exc).__name__}", flush=True)

        return cls(run_all, interval_s)

    def start(self) -> ScheduleTimer:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run_relay()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

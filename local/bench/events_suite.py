"""The events section of `make bench`: publishing, the outbox relay, the consumers.

1. **A write that publishes an event, against the same write without one.** Two writes:
   ``users-update-user`` changing the bio (announces ``user.updated``) and
   ``users-change-role`` toggling between two roles (announces ``user.role_changed``). Each
   runs in these variants, interleaved call by call in a shuffled order each round (so that
   drifts of a busy machine spread over all of them alike), every call with fresh input:

   - ``no-event`` (update-user only): the same PATCH changing only ``email``, which other
     domains do not show, so the UPDATE is sent without the outbox CTE and nothing is
     published;
   - ``outbox``: the event is written to the outbox with the change, but
     ``INKWELL_EVENT_BUS_NAME`` is unset, so nothing is published after the commit;
   - ``unrouted``: published after the commit to moto's bus with the consumers' rules but
     no targets: moto answers after validating and matching the entry;
   - ``routed``: published to moto's bus whose rules target SQS queues: the event is really
     routed, and moto delivers it inside the PutEvents call.

   The PutEvents calls are recorded (`moto_bus.PutEventsLog`); every publishing call must
   make exactly one, with its one entry accepted, and every other call none. Afterwards the
   outbox must hold exactly one unpublished row per ``outbox`` call, and each consumer's
   queue exactly the events its rule matches.
2. **Relay throughput.** Unpublished outbox rows (user.updated, shaped as the write above
   writes them: ~380 bytes of detail; an hour old, past any grace period) are inserted with
   one INSERT ... SELECT generate_series, then ``inkwell.relay.run(database("users"),
   grace_s=0)`` publishes them: --relay-events to the bus without targets (the relay's own
   throughput; moto's delivery would be most of the time), then --relay-routed-events to the
   routed bus (checked queue by queue). Every row must end published. First an untimed relay
   run publishes what the bench's earlier writes left in the outbox.
3. **Consumers.** The cold starts (measured with the HTTP functions, `local.bench.cold`) and
   warm processing of one new event (a fresh event id and subject each time) of every
   consumer in `wiring.CONSUMERS`, with its sample event from ``events/bus/``.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wiring
from inkwell import relay
from inkwell.db import database
from local.bench.cold import ColdResult
from local.bench.moto_bus import (
    MotoBus,
    PutCall,
    PutEventsLog,
    check_deliveries,
    event_ids,
    expected_deliveries,
    set_environment,
)
from local.bench.scenarios import Seeder, http_event, status_is
from local.bench.timing import Samples, time_calls
from local.dispatch import context_for, load_handler

Event = dict[str, Any]
Say = Callable[[str], None]

ROOT = Path(__file__).resolve().parents[2]
BUS_SAMPLES = ROOT / "events" / "bus"
ALL = "events"
PUBLISH = "events-publish"
RELAY = "events-relay"
CONSUMER_CHECK_STATUS = "processed"

NO_EVENT, OUTBOX, UNROUTED, ROUTED = "no-event", "outbox", "unrouted", "routed"
VARIANT_LABELS = {
    NO_EVENT: "no event (email only)",
    OUTBOX: "event, outbox only (bus unset)",
    UNROUTED: "published, moto no targets",
    ROUTED: "published, moto -> SQS",
}
PUBLISHING = frozenset({UNROUTED, ROUTED})


# --- what to run -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    publish: bool
    relay: bool
    consumers: tuple[wiring.Consumer, ...]

    @property
    def any(self) -> bool:
        return self.publish or self.relay or bool(self.consumers)

    @property
    def needs_bus(self) -> bool:
        return self.publish or self.relay


def select(only: Sequence[str], consumers: Sequence[wiring.Consumer]) -> Selection:
    """What `--only` selects: "events" is the whole section, "events-publish" the writes,
    "events-relay" the relay, a consumer's name that consumer. No --only: everything."""
    everything = not only or ALL in only
    return Selection(
        publish=everything or PUBLISH in only,
        relay=everything or RELAY in only,
        consumers=tuple(c for c in consumers if everything or c.name in only),
    )


def names() -> list[str]:
    return [ALL, PUBLISH, RELAY, *(c.name for c in wiring.CONSUMERS)]


# --- results ---------------------------------------------------------------------------------

@dataclass
class Variant:
    key: str
    bus: str | None  # INKWELL_EVENT_BUS_NAME during its calls (None: unset)
    next_event: Callable[[], Event]
    samples: Samples = field(default_factory=Samples)
    put_seconds: list[float] = field(default_factory=list)  # per timed call
    put_calls: list[int] = field(default_factory=list)  # per timed call
    calls_made: int = 0  # warm-up included

    @property
    def label(self) -> str:
        return VARIANT_LABELS[self.key]

    @property
    def publishes(self) -> bool:
        return self.key in PUBLISHING

    def excluding_put_events(self) -> Samples:
        """The calls' latencies minus the time each spent inside PutEvents."""
        return Samples(seconds=[s - p for s, p in zip(self.samples.seconds, self.put_seconds,
                                                      strict=True)])


@dataclass
class WriteResult:
    function: str
    event_type: str
    variants: list[Variant] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def variant(self, key: str) -> Variant | None:
        return next((v for v in self.variants if v.key == key), None)

    def base(self) -> Variant | None:
        """The same write without publishing: no event at all if measured, else outbox only."""
        return self.variant(NO_EVENT) or self.variant(OUTBOX)


@dataclass
class RelayRun:
    bus: str  # "moto, no targets" / "moto -> SQS"
    events: int
    seconds: float = 0.0
    published: int = 0
    failed: int = 0
    left_unpublished: int = 0
    put_calls: int = 0
    put_entries: int = 0
    put_seconds: float = 0.0
    round_trips: int = 0
    detail_bytes: float = 0.0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.published / self.seconds if self.seconds > 0 else 0.0


@dataclass
class ConsumerResult:
    name: str
    event_type: str
    cold: ColdResult | None = None
    warm: Samples | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class EventsSection:
    writes: list[WriteResult] = field(default_factory=list)
    relays: list[RelayRun] = field(default_factory=list)
    consumers: list[ConsumerResult] = field(default_factory=list)
    leftovers: int | None = None  # rows the untimed relay run published first
    bus: str = ""  # what the bus was
    errors: list[str] = field(default_factory=list)


# --- consumer events -------------------------------------------------------------------------

def sample_type(consumer: wiring.Consumer, directory: Path = BUS_SAMPLES) -> str | None:
    """The event type a consumer is benchmarked with: user.updated (what the write above
    publishes) if it takes it, else the first of its types that has a sample."""
    ordered = sorted(consumer.events, key=lambda t: t != "user.updated")
    return next((t for t in ordered if (directory / f"{t}.json").exists()), None)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def fresh_events(sample: Event, n: int) -> list[Event]:
    """`n` copies of a sample EventBridge event, each a new event about a new subject: new
    envelope id, eventId and correlationId, new ids in `data` and a new username."""
    found = []
    for _ in range(n):
        event = copy.deepcopy(sample)
        event["id"] = str(uuid.uuid4())
        detail = event["detail"]
        detail["eventId"] = str(uuid.uuid4())
        detail["correlationId"] = str(uuid.uuid4())
        data = detail.get("data") or {}
        for key, value in list(data.items()):
            if _is_uuid(value):
                data[key] = str(uuid.uuid4())
        if "username" in data:
            data["username"] = f"bench-{secrets.token_hex(5)}"
        found.append(event)
    return found


def consumer_events(consumer: wiring.Consumer) -> tuple[str, Callable[[int], list[Event]]]:
    detail_type = sample_type(consumer)
    if detail_type is None:
        raise LookupError(f"no sample in events/bus/ for any of {consumer.events}")
    sample = json.loads((BUS_SAMPLES / f"{detail_type}.json").read_text())
    return detail_type, lambda n: fresh_events(sample, n)


def processed(result: Any) -> bool:
    return isinstance(result, dict) and result.get("status") == CONSUMER_CHECK_STATUS


# --- 1. writes -------------------------------------------------------------------------------

def put_problem(variant: Variant, calls: Sequence[PutCall], detail_type: str) -> str | None:
    """Why the PutEvents calls of one request are not what the variant should make."""
    if not variant.publishes:
        return f"{len(calls)} PutEvents calls, expected none" if calls else None
    if len(calls) != 1:
        return f"{len(calls)} PutEvents calls, expected 1"
    call = calls[0]
    if call.error:
        return f"PutEvents failed: {call.error}"
    if len(call.entries) != 1 or call.accepted != 1:
        return f"{len(call.entries)} entries, {call.accepted} accepted, expected 1 of 1"
    entry = call.entries[0]
    if entry.bus_name != variant.bus or entry.detail_type != detail_type:
        return f"published {entry.detail_type} to {entry.bus_name}"
    return None


def _unpublished(seeder: Seeder) -> int:
    return int(seeder.conn.run("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0])


def _write_scenarios(seeder: Seeder, bus: MotoBus) -> list[tuple[WriteResult, wiring.Route]]:
    found = []
    try:
        update = wiring.route_by_name("users-update-user")
    except KeyError:
        update = None
    if update is not None:
        member = seeder.user("evt-self")

        def patch(body: Callable[[], dict[str, str]], route: wiring.Route = update,
                  token: str = seeder.access_token(member),
                  path: str = update.path.replace("{id}", member.id)) -> Callable[[], Event]:
            return lambda: http_event(route, path, body=body(), caller=member, token=token,
                                      path_parameters={"id": member.id})

        bio = patch(lambda: {"bio": f"bench bio {secrets.token_hex(4)}"})
        result = WriteResult("users-update-user", "user.updated", [
            Variant(NO_EVENT, bus.routed, patch(
                lambda: {"email": f"evt-{secrets.token_hex(6)}@bench.example.com"})),
            Variant(OUTBOX, None, bio),
            Variant(UNROUTED, bus.unrouted, bio),
            Variant(ROUTED, bus.routed, bio),
        ])
        found.append((result, update))
    try:
        role = wiring.route_by_name("users-change-role")
    except KeyError:
        role = None
    if role is not None:
        admin = seeder.user("evt-admin", role="admin")
        target = seeder.user("evt-role")
        serial = [0]

        def toggle(route: wiring.Route = role, token: str = seeder.access_token(admin),
                   path: str = role.path.replace("{id}", target.id)) -> Event:
            serial[0] += 1  # every call changes the role, whatever the variant
            new_role = "moderator" if serial[0] % 2 else "user"  # seeded as "user"
            return http_event(route, path, body={"role": new_role}, caller=admin, token=token,
                              path_parameters={"id": target.id})

        result = WriteResult("users-change-role", "user.role_changed", [
            Variant(OUTBOX, None, toggle),
            Variant(UNROUTED, bus.unrouted, toggle),
            Variant(ROUTED, bus.routed, toggle),
        ])
        found.append((result, role))
    return found


def measure_writes(bus: MotoBus, log: PutEventsLog, seeder: Seeder, *, calls: int,
                   warmup: int, round_trips: Callable[[], int], say: Say) -> list[WriteResult]:
    results = []
    for result, route in _write_scenarios(seeder, bus):
        say(f"events: {result.function}, {len(result.variants)} variants interleaved"
            f" ({warmup} warm-up + {calls} timed rounds)")
        handler = load_handler(route)
        check = status_is(200)
        unpublished_before = _unpublished(seeder)
        first_call = len(log.calls)
        bus.forget_deliveries()
        order = list(result.variants)
        warmup_failed: set[str] = set()
        shuffle = random.Random(20240602).shuffle  # noqa: S311  (fixed seed: same orders)
        for round_ in range(warmup + calls):
            shuffle(order)
            for variant in order:
                set_environment({"INKWELL_EVENT_BUS_NAME": variant.bus})
                event = variant.next_event()
                mark = len(log.calls)
                one = time_calls(handler, [(event, context_for(route))], check, round_trips)
                puts = log.since(mark)
                problem = put_problem(variant, puts, result.event_type)
                variant.calls_made += 1
                if round_ < warmup:
                    if (one.failures or problem) and variant.key not in warmup_failed:
                        warmup_failed.add(variant.key)
                        result.errors.append(f"{variant.label}: a warm-up call failed:"
                                             f" {one.first_failure or problem}")
                    continue
                if problem and not one.failures:
                    one.failures, one.first_failure = 1, problem
                variant.samples.extend(one)
                variant.put_calls.append(len(puts))
                variant.put_seconds.append(sum(c.seconds for c in puts))
        set_environment({"INKWELL_EVENT_BUS_NAME": None})

        # Every event is where it should be: unpublished iff its write had no bus ...
        expected = sum(v.calls_made for v in result.variants if v.key == OUTBOX)
        left = _unpublished(seeder) - unpublished_before
        if left != expected:
            result.errors.append(f"outbox: {left} rows left unpublished, expected {expected}"
                                 " (one per outbox-only call)")
        else:
            result.notes.append(f"outbox: {left} rows left unpublished = the outbox-only calls;"
                                " every published event marked published")
        # ... and each consumer's queue got exactly the routed events its rule matches.
        routed = event_ids([c for c in log.since(first_call) if c.bus == bus.routed])
        wanted = expected_deliveries(routed, bus.consumers)
        problems = check_deliveries(bus.delivered(), wanted)
        result.errors.extend(f"routing: {p}" for p in problems)
        if not problems:
            counts = ", ".join(f"{name} {len(ids)}" for name, ids in wanted.items())
            result.notes.append(f"routed: {len(routed)} events, each delivered once to every"
                                f" queue whose rule matches ({counts})")
        results.append(result)
    return results


# --- 2. relay --------------------------------------------------------------------------------

RELAY_BIO = "Writes about serverless."

INSERT_OUTBOX = (
    "WITH ids AS ("
    "  SELECT g, gen_random_uuid() AS event_id FROM generate_series(1, CAST(:n AS integer)) g),"
    " inserted AS ("
    "  INSERT INTO outbox (event_id, source, detail_type, detail, created_at)"
    "  SELECT ids.event_id, 'inkwell.users', 'user.updated', jsonb_build_object("
    "   'eventId', ids.event_id,"
    "   'occurredAt', to_char(now() AT TIME ZONE 'UTC' - interval '1 hour',"
    "                         'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "   'correlationId', CAST(gen_random_uuid() AS text),"
    "   'version', 1,"
    "   'data', jsonb_build_object("
    "     'id', gen_random_uuid(), 'username', CAST(:prefix AS text) || ids.g,"
    "     'firstName', 'Bench', 'lastName', 'Relay', 'bio', CAST(:bio AS text),"
    "     'updatedAt', to_char(now() AT TIME ZONE 'UTC' - interval '1 hour',"
    "                          'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))"
    "  , now() - interval '1 hour'"
    "  FROM ids ORDER BY ids.g"
    "  RETURNING id, detail)"
    " SELECT min(id), max(id), CAST(avg(octet_length(CAST(detail AS text))) AS float8)"
    " FROM inserted"
)


def insert_outbox_rows(seeder: Seeder, n: int) -> tuple[int, int, float]:
    """`n` unpublished user.updated rows, an hour old: (first id, last id, mean detail bytes)."""
    row = seeder.conn.run(INSERT_OUTBOX, n=n, prefix=f"brelay-{seeder.tag}-", bio=RELAY_BIO)[0]
    return int(row[0]), int(row[1]), float(row[2])


def measure_relay(bus: MotoBus, log: PutEventsLog, seeder: Seeder, *, events: int, routed: bool,
                  budget_s: float, round_trips: Callable[[], int]) -> RelayRun:
    name = bus.routed if routed else bus.unrouted
    run = RelayRun("moto -> SQS" if routed else "moto, no targets", events)
    db = database("users")
    set_environment({"INKWELL_EVENT_BUS_NAME": name})
    try:
        bus.forget_deliveries()
        first, last, run.detail_bytes = insert_outbox_rows(seeder, events)
        mark, trips = len(log.calls), round_trips()
        start = time.perf_counter()
        outcome = relay.run(db, grace_s=0, budget_s=budget_s)
        run.seconds = time.perf_counter() - start
    finally:
        set_environment({"INKWELL_EVENT_BUS_NAME": None})
    run.round_trips = round_trips() - trips
    calls = log.since(mark)
    run.published, run.failed = outcome.published, outcome.failed
    run.put_calls = len(calls)
    run.put_entries = sum(len(c.entries) for c in calls)
    run.put_seconds = sum(c.seconds for c in calls)
    run.left_unpublished = int(seeder.conn.run(
        "SELECT count(*) FROM outbox WHERE id BETWEEN :lo AND :hi AND published_at IS NULL",
        lo=first, hi=last)[0][0])
    if run.left_unpublished or run.published != events or run.failed:
        run.errors.append(f"{run.left_unpublished} of {events} rows left unpublished"
                          f" (relay: {outcome.published} published, {outcome.failed} failed,"
                          f" budget {budget_s:.0f} s)")
    else:
        run.notes.append(f"all {events} rows published")
    if routed:
        wanted = expected_deliveries(event_ids(calls), bus.consumers)
        problems = check_deliveries(bus.delivered(), wanted)
        run.errors.extend(f"routing: {p}" for p in problems)
        if not problems:
            run.notes.append("each delivered once to "
                             + ", ".join(f"{c} ({len(ids)})" for c, ids in wanted.items()
                                         if ids))
    return run


# --- 3. consumers ----------------------------------------------------------------------------

def measure_consumer(consumer: wiring.Consumer, result: ConsumerResult, *, calls: int,
                     warmup: int, round_trips: Callable[[], int], say: Say) -> None:
    _, make = consumer_events(consumer)
    say(f"events: {consumer.name} warm ({warmup} warm-up + {calls} timed events)")
    handler = load_handler(consumer)
    inputs = [(e, context_for(consumer)) for e in make(warmup + calls)]
    first = time_calls(handler, inputs[:warmup], processed, round_trips)
    if first.failures:
        result.errors.append(f"warm-up event failed: {first.first_failure}")
    result.warm = time_calls(handler, inputs[warmup:], processed, round_trips)


# --- the section -----------------------------------------------------------------------------

def run(selection: Selection, options: argparse.Namespace, seeder: Seeder,
        colds: dict[str, ColdResult], round_trips: Callable[[], int], say: Say
        ) -> EventsSection:
    section = EventsSection()
    for consumer in selection.consumers:
        result = ConsumerResult(consumer.name, sample_type(consumer) or "-",
                                cold=colds.get(consumer.name))
        section.consumers.append(result)
        try:
            measure_consumer(consumer, result, calls=options.warm_calls,
                             warmup=options.warmup, round_trips=round_trips, say=say)
        except Exception as exc:  # one broken consumer must not hide the rest
            result.errors.append(f"benchmark failed: {type(exc).__name__}: {exc}")
    if not selection.needs_bus:
        return section

    say("events: starting moto (EventBridge + SQS) in process")
    bus = MotoBus(wiring.CONSUMERS)
    section.bus = (f"moto {_moto_version()} server in this process at {bus.url}; buses"
                   f" {bus.routed} (rules -> SQS) and {bus.unrouted} (same rules, no targets)")
    log = PutEventsLog()
    try:
        with bus.publishing(), log.active():
            if selection.publish:
                try:
                    section.writes = measure_writes(
                        bus, log, seeder, calls=options.event_calls, warmup=options.warmup,
                        round_trips=round_trips, say=say)
                except Exception as exc:
                    section.errors.append(f"writes: {type(exc).__name__}: {exc}")
            if selection.relay:
                say("events: relay, untimed run first (what the earlier writes left)")
                set_environment({"INKWELL_EVENT_BUS_NAME": bus.unrouted})
                try:
                    section.leftovers = relay.run(database("users"), grace_s=0,
                                                  budget_s=options.relay_budget).published
                finally:
                    set_environment({"INKWELL_EVENT_BUS_NAME": None})
                for events, routed in ((options.relay_events, False),
                                       (options.relay_routed_events, True)):
                    if events <= 0:
                        continue
                    say(f"events: relay, {events} outbox rows to"
                        f" {'moto -> SQS' if routed else 'moto (no targets)'}")
                    try:
                        section.relays.append(measure_relay(
                            bus, log, seeder, events=events, routed=routed,
                            budget_s=options.relay_budget, round_trips=round_trips))
                    except Exception as exc:
                        section.errors.append(f"relay: {type(exc).__name__}: {exc}")
    finally:
        bus.close()
    return section


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")

"""The events section's tables, its budget and its part of build/bench.json."""

from __future__ import annotations

import math
from typing import Any

from local.bench.events_suite import (
    NO_EVENT,
    OUTBOX,
    EventsSection,
    RelayRun,
    Variant,
    WriteResult,
)
from local.bench.report import (
    FunctionResult,
    _cold_json,
    _ms,
    _ratio,
    _samples_json,
    _table,
    _verdict,
    cold_cells,
)
from local.bench.timing import Samples

# The budget: publishing adds at most one extra SQL round trip to the request.
PUBLISH_EXTRA_ROUND_TRIPS = 1


def _one_value(samples: Samples) -> int | None:
    found = set(samples.round_trips)
    return found.pop() if len(found) == 1 else None


def extra_round_trips(write: WriteResult, variant: Variant) -> int | None:
    """Round trips of the variant minus those of the same write without publishing."""
    base = write.base()
    if base is None or base is variant:
        return None
    mine, theirs = _one_value(variant.samples), _one_value(base.samples)
    if mine is None or theirs is None:
        return None
    return mine - theirs


def round_trip_pass(write: WriteResult, variant: Variant) -> bool | None:
    if not variant.publishes:
        return None
    extra = extra_round_trips(write, variant)
    return (extra is not None and extra <= PUBLISH_EXTRA_ROUND_TRIPS
            and not variant.samples.failures)


def added_p50(write: WriteResult, variant: Variant, against: str) -> float | None:
    base = write.variant(against)
    if base is None or base is variant or not base.samples.n or not variant.samples.n:
        return None
    return variant.samples.p50_ms - base.samples.p50_ms


def _signed(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:+.{digits}f}"


def failures(section: EventsSection) -> list[str]:
    found = [f"events: {e}" for e in section.errors]
    for write in section.writes:
        for variant in write.variants:
            if round_trip_pass(write, variant) is False:
                extra = extra_round_trips(write, variant)
                base = write.base()
                found.append(
                    f"{write.function} ({variant.label}): publishing adds"
                    f" {'?' if extra is None else extra} SQL round trips vs"
                    f" {base.label if base else '-'} (budget <= {PUBLISH_EXTRA_ROUND_TRIPS})"
                    + (f", {variant.samples.failures} failed calls"
                       f" ({variant.samples.first_failure})" if variant.samples.failures
                       else ""))
            elif variant.samples.failures:
                found.append(f"{write.function} ({variant.label}): {variant.samples.failures}"
                             f" failed calls ({variant.samples.first_failure})")
        found.extend(f"{write.function}: {e}" for e in write.errors)
    for run in section.relays:
        found.extend(f"relay ({run.bus}): {e}" for e in run.errors)
    for consumer in section.consumers:
        warm = consumer.warm
        if warm is not None and warm.n and not warm.round_trips_fixed:
            found.append(f"{consumer.name}: SQL round trips not fixed"
                         f" ({warm.round_trips_text()})")
        if warm is not None and warm.failures:
            found.append(f"{consumer.name}: {warm.failures} failed events"
                         f" ({warm.first_failure})")
        if consumer.cold is not None and consumer.cold.failures:
            found.append(f"{consumer.name}: {consumer.cold.failures} failed cold starts"
                         f" ({consumer.cold.problem})")
        found.extend(f"{consumer.name}: {e}" for e in consumer.errors)
    return found


def _cold_ratio(cold: Any, hello: FunctionResult) -> float | None:
    if not cold or not cold.good or not hello.cold or not hello.cold.good:
        return None
    return float(cold.median_ms("total_s") / hello.cold.median_ms("total_s"))


def render(section: EventsSection, hello: FunctionResult, meta: dict[str, Any]) -> list[str]:
    lines = ["", "=== Events: publishing, outbox relay, consumers ==="]
    if section.bus:
        lines.append(f"Bus: {section.bus}.")
    if section.writes:
        lines += [
            "",
            "Write that publishes an event vs the same write without one: warm, in process,"
            f" variants interleaved call by call (n={meta['event_calls']} each, fresh input"
            " every call), p50/p99 in ms.",
            "  no event (email only) = PATCH changing only email: the UPDATE without the"
            " outbox CTE, nothing to publish (a bus is configured).",
            "  event, outbox only = the event is written to the outbox in the same statement,"
            " INKWELL_EVENT_BUS_NAME unset: nothing published (the relay would do it).",
            "  published, moto no targets = after the commit, PutEvents to moto's bus (rules,"
            " no targets: moto validates and matches, as EventBridge does before it answers),"
            " then the row is marked published.",
            "  published, moto -> SQS = the same to the bus whose rules target SQS: really"
            " routed, but moto delivers inside the call (a few ms per matching queue: it"
            " builds a jsonpath parser per delivery), which EventBridge does after answering.",
            "  PutEvents p50 = time inside the PutEvents HTTP call per request; 'excl.' ="
            " p50 of (request - its PutEvents time): what publishing costs besides"
            " EventBridge.",
            f"Budget: publishing adds at most {PUBLISH_EXTRA_ROUND_TRIPS} SQL round trip"
            " (+RT vs the same write without publishing: 'no event' where it exists, else"
            " 'outbox only').",
        ]
        header = ["write", "variant", "p50", "p99", "n", "RT/req", "+RT", "budget",
                  "PutEvents/req", "PutEvents p50", "p50 excl.", "+p50 vs outbox",
                  "+p50 vs no event"]
        rows: list[list[str]] = []
        for write in section.writes:
            for i, v in enumerate(write.variants):
                s = v.samples
                puts = sorted(set(v.put_calls))
                extra = extra_round_trips(write, v)
                rows.append([
                    write.function if i == 0 else "",
                    v.label,
                    _ms(s.p50_ms, 2) if s.n else "-",
                    _ms(s.p99_ms, 2) if s.n else "-",
                    str(s.n),
                    s.round_trips_text(),
                    "(base)" if v is write.base() else _signed(extra, 0),
                    _verdict(round_trip_pass(write, v)) if v.publishes else "",
                    "-" if not puts else "/".join(str(p) for p in puts),
                    _ms(Samples(seconds=v.put_seconds).p50_ms, 2) if v.publishes else "-",
                    _ms(v.excluding_put_events().p50_ms, 2) if v.publishes else "-",
                    _signed(added_p50(write, v, OUTBOX)),
                    _signed(added_p50(write, v, NO_EVENT)),
                ])
        lines += ["", *_table(header, rows, right={2, 3, 4, 5, 6, 8, 9, 10, 11, 12})]
        for write in section.writes:
            lines += [f"  {write.function} ({write.event_type}): {note}" for note in write.notes]

    if section.relays or section.leftovers is not None:
        lines += [
            "",
            "Relay throughput: inkwell.relay.run(database('users'), grace_s=0) over unpublished"
            " user.updated outbox rows inserted at once (one INSERT ... SELECT generate_series,"
            " an hour old); batches of 100 rows per transaction (FOR UPDATE SKIP LOCKED),"
            " PutEvents of 10 entries, then the clean-up; wall time of the whole run.",
        ]
        if section.leftovers is not None:
            lines.append(f"An untimed relay run first published the {section.leftovers} rows"
                         " the bench's earlier writes had left in the outbox.")
        header = ["bus", "events", "detail B", "seconds", "events/s", "PutEvents", "entries",
                  "in PutEvents", "SQL RT", "RT/100 ev", "notes"]
        rows = []
        for run in section.relays:
            rows.append([
                run.bus, str(run.events), f"{run.detail_bytes:.0f}", f"{run.seconds:.2f}",
                f"{run.per_second:.0f}", str(run.put_calls),
                f"{run.put_entries / run.put_calls:.1f}" if run.put_calls else "-",
                _share(run), str(run.round_trips),
                f"{run.round_trips * 100 / run.events:.1f}" if run.events else "-",
                "; ".join(run.notes + run.errors),
            ])
        lines += ["", *_table(header, rows, right={1, 2, 3, 4, 5, 6, 7, 8, 9})]

    if section.consumers:
        lines += [
            "",
            "Consumers: cold start as for the HTTP functions above (fresh python, import + first"
            f" invocation, median of {meta['cold_runs']}, interleaved with them) with the"
            " consumer's sample event from events/bus/ (a new event id and subject each run);"
            f" warm = processing one new event in process, n={meta['warm_calls']}. No budget"
            " is set for consumers: 'x hello' is for information.",
        ]
        header = ["consumer", "event", "cold ms", "import", "1st call", "process", "cpu ms",
                  "modules", "x hello", "warm p50", "p99", "n", "RT/event", "fixed"]
        rows = []
        for c in section.consumers:
            cold, warm = c.cold, c.warm
            rows.append([
                c.name, c.event_type,
                *cold_cells(cold),
                _ratio(_cold_ratio(cold, hello)),
                _ms(warm.p50_ms, 2) if warm and warm.n else "-",
                _ms(warm.p99_ms, 2) if warm and warm.n else "-",
                str(warm.n) if warm else "-",
                warm.round_trips_text() if warm else "-",
                _verdict(warm.round_trips_fixed if warm and warm.n else None),
            ])
        lines += ["", *_table(header, rows, right={2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})]
    return lines


def _share(run: RelayRun) -> str:
    if not run.seconds:
        return "-"
    return f"{run.put_seconds:.2f} s ({run.put_seconds / run.seconds:.0%})"


def _variant_json(write: WriteResult, v: Variant) -> dict[str, Any]:
    return {
        "variant": v.key,
        "label": v.label,
        "bus": v.bus,
        "warm": _samples_json(v.samples),
        "put_events_per_request": sorted(set(v.put_calls)),
        "put_events_p50_ms": round(Samples(seconds=v.put_seconds).p50_ms, 3)
        if v.publishes and v.put_seconds else None,
        "p50_excluding_put_events_ms": round(v.excluding_put_events().p50_ms, 3)
        if v.publishes and v.samples.n else None,
        "extra_round_trips": extra_round_trips(write, v),
        "added_p50_ms_vs_outbox_only": _rounded(added_p50(write, v, OUTBOX)),
        "added_p50_ms_vs_no_event": _rounded(added_p50(write, v, NO_EVENT)),
        "budget_round_trips": _verdict(round_trip_pass(write, v)),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def to_json(section: EventsSection, hello: FunctionResult) -> dict[str, Any]:
    return {
        "bus": section.bus,
        "budget_publish_extra_round_trips": PUBLISH_EXTRA_ROUND_TRIPS,
        "writes": [
            {"function": w.function, "event_type": w.event_type,
             "variants": [_variant_json(w, v) for v in w.variants],
             "notes": w.notes, "errors": w.errors}
            for w in section.writes
        ],
        "relay_leftovers_published_first": section.leftovers,
        "relay": [
            {"bus": r.bus, "events": r.events, "detail_bytes": round(r.detail_bytes, 1),
             "seconds": round(r.seconds, 3), "events_per_s": round(r.per_second, 1),
             "put_events_calls": r.put_calls, "put_events_entries": r.put_entries,
             "put_events_seconds": round(r.put_seconds, 3), "round_trips": r.round_trips,
             "published": r.published, "failed": r.failed,
             "left_unpublished": r.left_unpublished, "notes": r.notes, "errors": r.errors}
            for r in section.relays
        ],
        "consumers": [
            {"name": c.name, "event_type": c.event_type, "cold": _cold_json(c.cold),
             "cold_x_hello": _rounded(_cold_ratio(c.cold, hello)),
             "warm": _samples_json(c.warm),
             "round_trips_fixed": _verdict(c.warm.round_trips_fixed
                                           if c.warm and c.warm.n else None),
             "errors": c.errors}
            for c in section.consumers
        ],
        "errors": section.errors,
        "failures": failures(section),
    }

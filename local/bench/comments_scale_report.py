"""The comments data-scale section's tables, budgets and JSON (`local.bench.comments_scale`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from local.bench.comments_scale import (
    DEEP_BUDGET,
    READ_ROUND_TRIPS,
    Call,
    CommentsSection,
    ConsumerRun,
)
from local.bench.report import COLD_BUDGET, WARM_BUDGET, FunctionResult, _ms, _table, _verdict
from local.bench.scale_common import (
    Ratios,
    plan_cells,
    plan_json,
    preamble,
    ratio_range,
    ratios_json,
    seed_json,
    seeding_text,
    timing_cells,
    timing_failures,
    timing_json,
)

COMMENTS_PREFIX = "comments-"
# A generic plan worth a note: it reads this many times the rows of the custom plan (and
# at least GENERIC_MIN_ROWS more).
GENERIC_FACTOR = 2.0
GENERIC_MIN_ROWS = 100


def route_summary(results: Sequence[FunctionResult], hello: FunctionResult
                  ) -> tuple[list[tuple[str, float | None, bool | None]],
                             list[tuple[str, float | None, bool | None]]]:
    """The comments routes' cold ratios to the hello-world and warm ratios to their bare
    twins, from the first two tables."""
    mine = [r for r in results if r.name.startswith(COMMENTS_PREFIX) and r.kind == "http"]
    return ([(r.name, r.cold_ratio(hello), r.cold_pass(hello)) for r in mine],
            [(r.name, r.warm_ratio(), r.warm_pass()) for r in mine])


def failures(section: CommentsSection) -> list[str]:
    found = [f"comments-scale: {e}" for e in section.errors]
    for c in section.calls:
        wanted = f"{READ_ROUND_TRIPS} on every call" if c.read else "fixed"
        round_trips = (f"{c.samples.round_trips_text()}, expected {wanted}"
                       if section.round_trips_pass(c) is False else None)
        found += timing_failures(f"comments-scale {c.label}", c, section.ratio(c),
                                 section.deep_pass(c), DEEP_BUDGET, round_trips)
    for r in section.consumers:
        where = f"comments-scale {r.consumer} {r.label}"
        if r.samples.failures:
            found.append(f"{where}: {r.samples.failures} failed events"
                         f" ({r.samples.first_failure})")
        if r.samples.n and not r.samples.round_trips_fixed:
            found.append(f"{where}: SQL round trips not fixed"
                         f" ({r.samples.round_trips_text()})")
        found.extend(f"{where}: {e}" for e in r.errors)
    return found


def generic_notes(section: CommentsSection) -> list[str]:
    """Reads whose generic plan reads far more rows than their custom plan, with what the
    function's own prepared statement ran."""
    found = []
    for c in section.calls:
        plan, generic = c.plan, c.generic
        if plan is None or generic is None or not c.n:
            continue
        if generic.rows_read > max(GENERIC_FACTOR * plan.rows_read,
                                   plan.rows_read + GENERIC_MIN_ROWS):
            ran = ("" if c.plans_used is None else
                   f"; the function's prepared statement ran {c.plans_used[0]:,} generic and"
                   f" {c.plans_used[1]:,} custom plans")
            found.append(
                f"{c.label}: the generic plan reads {generic.rows_read:,} rows"
                f" ({generic.server_ms:.2f} ms) where the custom plan reads"
                f" {plan.rows_read:,} ({plan.server_ms:.2f} ms){ran}; p50"
                f" {c.samples.p50_ms:.2f} ms. Generic: {generic.summary()}")
    return found


def _seeded(section: CommentsSection) -> str:
    c = section.counts
    return (
        f"Seeded: the post under test with {c.get('post_comments', 0):,} comments"
        f" ({c.get('post_replies', 0):,} replies, {c.get('post_pending', 0):,} pending,"
        f" {c.get('post_placeholders', 0)} deleted kept for their replies);"
        f" {c.get('comments', 0):,} comments in all on {c.get('posts', 0):,} posts"
        f" ({c.get('pending', 0):,} pending), {c.get('commenters', 0):,} commenters (2%"
        f" deactivated; {section.sizes.writers} of them write),"
        f" {c.get('comment_reports', 0):,} reports,"
        f" {c.get('moderation_decisions', 0):,} moderation decisions,"
        f" {c.get('notifications', 0):,} notifications (the post author's:"
        f" {c.get('author_notifications', 0):,}, {c.get('author_unread', 0)} unread);"
        " " + seeding_text(section)
    )


def _range(items: Ratios, what: str, budget: float, table: str) -> str:
    found = ratio_range(items)
    if found is None:
        return f"{what} of the comments routes: not measured in this run (--only)."
    return (f"{what} of the comments routes ({table}): {found.measured} measured,"
            f" {found.low:.2f}x to {found.high:.2f}x ({found.worst}); budget <= {budget}x:"
            f" {found.verdict} (counted in that table's verdicts).")


def render(section: CommentsSection) -> list[str]:
    calls = section.calls
    lines = preamble(
        "Comments at scale (a post with 10,000 comments): a database of its own, seeded with"
        " INSERT ... SELECT generate_series, then every request through its real handler with a"
        " real API Gateway event, interleaved call by call.",
        _seeded(section), calls,
        " for each read, EXPLAIN (ANALYZE, BUFFERS) of the statement it sent, run once on the same"
        " data with the same parameters: server ms, rows read (by the scans, returned + filtered"
        " out, all loops), rows out (returned by the statement: a page and one more) and plan;"
        " 'generic' = the same statement prepared and run with plan_cache_mode ="
        " force_generic_plan (the plan a named prepared statement may keep after five"
        " executions); 'ran g/c' = the generic and custom plans the function's own prepared"
        " statement ran in this section (pg_prepared_statements; reads sending the same"
        " statement share it).",
        f"Budgets: page N's p50 <= {DEEP_BUDGET}x page 1's; a read is {READ_ROUND_TRIPS} SQL"
        " round trip on every call, a write a fixed number.",
        section.notes)
    header = ["request", "p50", "p99", "n", "RT/req", "RT", "x page 1", "budget", "server ms",
              "rows read", "rows out", "buffers", "plan (scans: rows read; sorts)",
              "generic ms", "generic rows", "ran g/c", "generic plan"]
    rows = []
    for c in calls:
        plan = c.plan
        server, read, summary = plan_cells(plan)
        g_server, g_read, g_summary = plan_cells(c.generic)
        rows.append([
            *timing_cells(c, section.ratio(c), section.round_trips_pass(c), section.deep_pass(c)),
            server, read,
            "-" if c.returned is None else str(c.returned),
            f"{plan.buffers:,}" if plan else "-",
            summary if c.read else f"{c.statements} statements + BEGIN/COMMIT",
            g_server, g_read,
            "-" if c.plans_used is None else f"{c.plans_used[0]}/{c.plans_used[1]}",
            g_summary if c.read else "",
        ])
    lines += ["", *_table(header, rows, right={1, 2, 3, 4, 6, 8, 9, 10, 11, 13, 14, 15})]
    lines += [f"Note: {note}" for note in generic_notes(section)]

    lines += [
        "",
        "Consumers, invoked in process through their real handlers (no event bus: the"
        " notification.created events stay in the outbox for the relay). events/s = events"
        " / wall time of the run; RT/event = SQL round trips per event (BEGIN, processed_events,"
        " the effect's statements, COMMIT).",
    ]
    header = ["consumer", "event", "n", "wall s", "events/s", "p50", "p99", "RT/event",
              "written"]
    rows = [[
        r.consumer, r.label, str(r.events), f"{r.seconds:.3f}",
        f"{r.per_second:,.0f}" if r.events > 1 else "-",
        _ms(r.samples.p50_ms, 2) if r.samples.n else "-",
        _ms(r.samples.p99_ms, 2) if r.samples.n else "-",
        r.samples.round_trips_text(),
        ", ".join(f"{k} {v:,}" for k, v in r.written.items() if v),
    ] for r in section.consumers]
    lines += ["", *_table(header, rows, right={2, 3, 4, 5, 6, 7})]
    for r in section.consumers:
        lines += [f"Note: {r.label}: {note}" for note in r.notes]
    lines.append(_range(section.cold, "Cold starts", COLD_BUDGET, "first table"))
    lines.append(_range(section.warm, "Warm p50 against the bare pg8000 twin", WARM_BUDGET,
                        "second table"))
    return lines


def _call_json(section: CommentsSection, c: Call) -> dict[str, Any]:
    ratio = section.ratio(c)
    return {
        **timing_json(c),
        "sql": c.sql,
        "x_page_1": None if ratio is None else round(ratio, 3),
        "budgets": {"deep_page": _verdict(section.deep_pass(c)),
                    "round_trips": _verdict(section.round_trips_pass(c))},
        "rows_returned": c.returned,
        "explain": plan_json(c.plan),
        "explain_generic": plan_json(c.generic),
        "plans_used": None if c.plans_used is None else {
            "generic": c.plans_used[0], "custom": c.plans_used[1]},
        "errors": c.errors,
    }


def _consumer_json(r: ConsumerRun) -> dict[str, Any]:
    s = r.samples
    return {
        "key": r.key, "label": r.label, "consumer": r.consumer, "events": r.events,
        "seconds": round(r.seconds, 4), "events_per_s": round(r.per_second, 1),
        "p50_ms": round(s.p50_ms, 3) if s.n else None,
        "p99_ms": round(s.p99_ms, 3) if s.n else None,
        "round_trips": sorted(set(s.round_trips)), "failures": s.failures,
        "written": r.written, "plan": r.plan, "notes": r.notes, "errors": r.errors,
    }


def to_json(section: CommentsSection) -> dict[str, Any]:
    sizes = section.sizes
    return {
        "sizes": {"comments": sizes.comments, "commenters": sizes.commenters,
                  "other_posts": sizes.other_posts, "per_other_post": sizes.per_other_post},
        "counts": section.counts,
        "seed_s": seed_json(section.seed_s),
        "section_s": round(section.measure_s, 1),
        "deep_page_budget_x_page_1": DEEP_BUDGET,
        "requests": [_call_json(section, c) for c in section.calls],
        "consumers": [_consumer_json(r) for r in section.consumers],
        "cold": ratios_json(section.cold, "x_hello"),
        "warm": ratios_json(section.warm, "x_bare"),
        "notes": section.notes,
        "failures": failures(section),
    }

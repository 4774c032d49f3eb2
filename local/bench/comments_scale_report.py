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
from local.bench.content_scale import PlanFacts
from local.bench.report import COLD_BUDGET, WARM_BUDGET, FunctionResult, _ms, _table, _verdict

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
        where = f"comments-scale {c.label}"
        if section.deep_pass(c) is False:
            ratio = section.ratio(c)
            found.append(f"{where}: p50 {'-' if ratio is None else f'{ratio:.2f}x'}"
                         f" > {DEEP_BUDGET}x page 1's")
        if section.round_trips_pass(c) is False:
            wanted = f"{READ_ROUND_TRIPS} on every call" if c.read else "fixed"
            found.append(f"{where}: SQL round trips {c.samples.round_trips_text()}, expected"
                         f" {wanted}")
        if c.samples.failures:
            found.append(f"{where}: {c.samples.failures} failed calls"
                         f" ({c.samples.first_failure})")
        found.extend(f"{where}: {e}" for e in c.errors)
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
    c, s = section.counts, section.seed_s
    seeding = sum(v for k, v in s.items() if k != "VACUUM ANALYZE")
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
        f" {c.get('bytes', 0) / 2**20:,.0f} MB with indexes. Seeding {seeding:.1f} s,"
        f" VACUUM ANALYZE {s.get('VACUUM ANALYZE', 0):.1f} s; the whole section"
        f" {section.measure_s:.0f} s."
    )


def _plan_cells(plan: PlanFacts | None) -> list[str]:
    if plan is None:
        return ["-", "-", "-"]
    return [f"{plan.server_ms:.2f}", f"{plan.rows_read:,}", plan.summary()]


def _range(items: list[tuple[str, float | None, bool | None]], what: str, budget: float,
           table: str) -> str:
    measured = [(name, ratio, ok) for name, ratio, ok in items if ratio is not None]
    if not measured:
        return f"{what} of the comments routes: not measured in this run (--only)."
    over = [name for name, _, ok in measured if ok is False]
    worst = max(measured, key=lambda c: c[1] or 0.0)
    return (f"{what} of the comments routes ({table}): {len(measured)} measured,"
            f" {min(c[1] or 0.0 for c in measured):.2f}x to {worst[1] or 0.0:.2f}x"
            f" ({worst[0]}); budget <= {budget}x: "
            + ("PASS" if not over else f"FAIL for {len(over)}: {', '.join(over)}")
            + " (counted in that table's verdicts).")


def render(section: CommentsSection) -> list[str]:
    calls = section.calls
    n = max((c.n for c in calls), default=0)
    lines = [
        "",
        "Comments at scale (a post with 10,000 comments): a database of its own, seeded with"
        " INSERT ... SELECT generate_series, then every request through its real handler with a"
        " real API Gateway event, interleaved call by call.",
        _seeded(section),
        f"p50/p99 in ms over n={n} calls each (nearest rank), after untimed warm-up rounds;"
        " RT/req = SQL round trips per request (Database.round_trips delta, every call); for"
        " each read, EXPLAIN (ANALYZE, BUFFERS) of the statement it sent, run once on the same"
        " data with the same parameters: server ms, rows read (by the scans, returned + filtered"
        " out, all loops), rows out (returned by the statement: a page and one more) and plan;"
        " 'generic' = the same statement prepared and run with plan_cache_mode ="
        " force_generic_plan (the plan a named prepared statement may keep after five"
        " executions); 'ran g/c' = the generic and custom plans the function's own prepared"
        " statement ran in this section (pg_prepared_statements; reads sending the same"
        " statement share it).",
        f"Budgets: page N's p50 <= {DEEP_BUDGET}x page 1's; a read is {READ_ROUND_TRIPS} SQL"
        " round trip on every call, a write a fixed number.",
        *(f"Note: {note}" for note in section.notes),
    ]
    header = ["request", "p50", "p99", "n", "RT/req", "RT", "x page 1", "budget", "server ms",
              "rows read", "rows out", "buffers", "plan (scans: rows read; sorts)",
              "generic ms", "generic rows", "ran g/c", "generic plan"]
    rows = []
    for c in calls:
        s, plan = c.samples, c.plan
        ratio = section.ratio(c)
        server, read, summary = _plan_cells(plan)
        g_server, g_read, g_summary = _plan_cells(c.generic)
        rows.append([
            c.label,
            _ms(s.p50_ms, 2) if s.n else "-",
            _ms(s.p99_ms, 2) if s.n else "-",
            str(s.n),
            s.round_trips_text(),
            _verdict(section.round_trips_pass(c)),
            "" if ratio is None else f"{ratio:.2f}x",
            "" if c.baseline is None else _verdict(section.deep_pass(c)),
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


def _plan_json(plan: PlanFacts | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {"server_ms": round(plan.server_ms, 3), "rows_read": plan.rows_read,
            "buffers": plan.buffers, "scans": plan.scans, "sorts": plan.sorts,
            "plan": plan.text}


def _call_json(section: CommentsSection, c: Call) -> dict[str, Any]:
    s = c.samples
    ratio = section.ratio(c)
    return {
        "key": c.key,
        "label": c.label,
        "function": c.route.name,
        "p50_ms": round(s.p50_ms, 3) if s.n else None,
        "p99_ms": round(s.p99_ms, 3) if s.n else None,
        "n": s.n,
        "failures": s.failures,
        "round_trips": sorted(set(s.round_trips)),
        "statements": c.statements,
        "sql": c.sql,
        "x_page_1": None if ratio is None else round(ratio, 3),
        "budgets": {"deep_page": _verdict(section.deep_pass(c)),
                    "round_trips": _verdict(section.round_trips_pass(c))},
        "rows_returned": c.returned,
        "explain": _plan_json(c.plan),
        "explain_generic": _plan_json(c.generic),
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
        "seed_s": {k: round(v, 2) for k, v in section.seed_s.items()},
        "section_s": round(section.measure_s, 1),
        "deep_page_budget_x_page_1": DEEP_BUDGET,
        "requests": [_call_json(section, c) for c in section.calls],
        "consumers": [_consumer_json(r) for r in section.consumers],
        "cold": [{"function": name, "x_hello": None if ratio is None else round(ratio, 3),
                  "budget": _verdict(ok)} for name, ratio, ok in section.cold],
        "warm": [{"function": name, "x_bare": None if ratio is None else round(ratio, 3),
                  "budget": _verdict(ok)} for name, ratio, ok in section.warm],
        "notes": section.notes,
        "failures": failures(section),
    }

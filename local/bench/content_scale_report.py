"""The content data-scale section's table, budgets and JSON (`local.bench.content_scale`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from local.bench.content_scale import DEEP_BUDGET, FOLLOWED, Read, ScaleSection
from local.bench.report import COLD_BUDGET, FunctionResult, _table, _verdict
from local.bench.scale_common import (
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

CONTENT_PREFIX = "content-"


def cold_summary(results: Sequence[FunctionResult], hello: FunctionResult
                 ) -> list[tuple[str, float | None, bool | None]]:
    """The content functions' cold-start ratios to the hello-world, from the first table."""
    return [(r.name, r.cold_ratio(hello), r.cold_pass(hello)) for r in results
            if r.name.startswith(CONTENT_PREFIX) and r.kind == "http"]


def failures(section: ScaleSection) -> list[str]:
    found = [f"content-scale: {e}" for e in section.errors]
    for r in section.reads:
        round_trips = (f"not fixed ({r.samples.round_trips_text()})"
                       if section.round_trips_pass(r) is False else None)
        found += timing_failures(f"content-scale {r.label}", r, section.ratio(r),
                                 section.deep_pass(r), DEEP_BUDGET, round_trips)
    return found


# The handler's own work on top of the statement (validation, serialisation, the round trip).
HANDLER_MS = 2.0
MISMATCH_MS = 5.0


def plan_mismatches(section: ScaleSection) -> list[str]:
    """Reads whose p50 is far above what their statement costs with the recorded parameters.

    The functions run named prepared statements: after five executions PostgreSQL may keep
    a generic plan, chosen without the parameters, which EXPLAIN of the statement with its
    parameters does not show."""
    found = []
    for r in section.reads:
        if r.plan is None or not r.n:
            continue
        expected = r.plan.server_ms + HANDLER_MS
        if r.samples.p50_ms > expected + max(MISMATCH_MS, expected):
            found.append(
                f"{r.label}: p50 {r.samples.p50_ms:.2f} ms, but its statement runs in"
                f" {r.plan.server_ms:.2f} ms with these parameters: the function's prepared"
                " statement probably runs a generic plan (PostgreSQL may switch to one after"
                " five executions) that the plan column does not show")
    return found


def _seeded(section: ScaleSection) -> str:
    c, s = section.counts, section.seed_s
    return (
        f"Seeded: {c.get('posts', 0):,} posts ({c.get('published', 0):,} published, the rest"
        f" drafts) by {c.get('authors', 0):,} authors (1% deactivated), {c.get('tags', 0)} tags"
        f" (3 per post; {c.get('published_tags', 0):,} published_tags rows),"
        f" {c.get('follows', 0):,} follows (the reader: {FOLLOWED}), {c.get('favorites', 0):,}"
        f" favorites (the reader's: {c.get('reader_favorites', 0):,});"
        " " + seeding_text(section, f" (posts {s.get('posts', 0):.1f} s)")
    )


def render(section: ScaleSection) -> list[str]:
    reads = section.reads
    lines = preamble(
        "Content at scale (issue 4): a database of its own, seeded with INSERT ... SELECT"
        " generate_series, then every read through its real handler with a real API Gateway"
        " event, signed in as a reader (favorited computed), interleaved call by call.",
        _seeded(section), reads,
        " server ms, rows read (returned + filtered out by the scans, all loops), buffers"
        " (shared, hit or read) and plan: EXPLAIN (ANALYZE, BUFFERS) of the statement the read"
        " sent, run once on the same data.",
        f"Budgets: a deep page's p50 <= {DEEP_BUDGET}x its page 1's (keyset pagination);"
        " every read a fixed number of round trips.",
        section.notes)
    header = ["read", "p50", "p99", "n", "RT/req", "fixed", "x page 1", "budget", "server ms",
              "rows read", "buffers", "plan (scans: rows read; sorts)"]
    rows = []
    for r in reads:
        plan = r.plan
        server, read, summary = plan_cells(plan)
        rows.append([
            *timing_cells(r, section.ratio(r), section.round_trips_pass(r), section.deep_pass(r)),
            server, read, f"{plan.buffers:,}" if plan else "-", summary,
        ])
    lines += ["", *_table(header, rows, right={1, 2, 3, 4, 6, 8, 9, 10})]
    lines += [f"Note: {note}" for note in plan_mismatches(section)]
    tags = section.read("tags")
    if tags is not None and tags.plan is not None:
        lines.append(
            f"The tags list is the one read whose cost grows with the data: it counts every"
            f" published_tags row of an active author ({tags.plan.rows_read:,} rows read per"
            f" request here, {tags.plan.server_ms:.0f} ms in the server), then sorts the"
            f" {section.counts.get('tags', 0)} tags (functions/content/QUERY_PLANS.md).")
    cold = ratio_range(section.cold)
    if cold is not None:
        lines.append(
            f"Cold starts of the content functions (first table): {cold.measured} measured,"
            f" {cold.low:.2f}x to {cold.high:.2f}x the hello-world ({cold.worst});"
            f" budget <= {COLD_BUDGET}x: {cold.verdict} (counted in the first table's"
            " verdicts).")
    else:
        lines.append("Cold starts of the content functions: not measured in this run (--only).")
    return lines


def _read_json(section: ScaleSection, r: Read) -> dict[str, Any]:
    ratio = section.ratio(r)
    return {
        **timing_json(r),
        "x_page_1": None if ratio is None else round(ratio, 3),
        "budgets": {"deep_page": _verdict(section.deep_pass(r)),
                    "round_trips_fixed": _verdict(section.round_trips_pass(r))},
        "explain": plan_json(r.plan),
        "errors": r.errors,
    }


def to_json(section: ScaleSection) -> dict[str, Any]:
    return {
        "sizes": {"posts": section.sizes.posts, "authors": section.sizes.authors},
        "counts": section.counts,
        "seed_s": seed_json(section.seed_s),
        "section_s": round(section.measure_s, 1),
        "deep_page_budget_x_page_1": DEEP_BUDGET,
        "reads": [_read_json(section, r) for r in section.reads],
        "cold": ratios_json(section.cold, "x_hello"),
        "notes": section.notes,
        "failures": failures(section),
    }

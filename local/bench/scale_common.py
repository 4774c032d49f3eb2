"""What the data-scale sections of `make bench` share (`local.bench.content_scale`,
`local.bench.comments_scale`, and their reports).

A database of the section's own (created, migrations applied, dropped afterwards), seeding
statements timed one by one, the recorded call and the interleaved timed rounds of the
requests, the facts EXPLAIN (ANALYZE, BUFFERS) gives of a statement, and the cells and
JSON of the sections' tables.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import pg8000.native

import wiring
from inkwell.db import ConnectionParams, database
from inkwell.migrations import apply
from local import platform
from local.bench.report import _ms, _verdict
from local.bench.scenarios import Event
from local.bench.sql import Step, recording
from local.bench.timing import Samples, time_calls
from local.dispatch import context_for, load_handler

DROP_PREFIX = "inkwell_bench_scale"  # platform.drop_databases(server, prefix) drops them
APPLICATION = "inkwell-bench-scale"
PAGE = 20
DEEP_BUDGET = 1.5  # a deep page's p50, times page 1's (the content issue's budget)
Say = Callable[[str], None]


# --- the database ----------------------------------------------------------------------------

def create_database(server_url: str, name: str, domain: str) -> str:
    """A fresh database `name` with `domain`'s migrations applied; its URL."""
    admin = ConnectionParams.from_url(server_url).connect(APPLICATION)
    try:
        admin.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.run(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    url = platform.database_url(server_url, name)
    conn = ConnectionParams.from_url(url).connect(APPLICATION)
    try:
        apply(conn, platform.migrations_dir(domain))
    finally:
        conn.close()
    return url


def connect(url: str) -> pg8000.native.Connection:
    """A connection for seeding: no statement timeout, no 15 s socket timeout."""
    p = ConnectionParams.from_url(url)
    conn = pg8000.native.Connection(user=p.user, password=p.password, host=p.host, port=p.port,
                                    database=p.database, timeout=600,
                                    application_name=APPLICATION,
                                    startup_params={"TimeZone": "UTC"})
    conn.run("SET statement_timeout = 0")
    return conn


@contextmanager
def scale_database(server_url: str, name: str, domain: str, section: str, say: Say,
                   ) -> Iterator[tuple[str, pg8000.native.Connection]]:
    """A fresh database `name` for `domain` and a seeding connection to it: (URL,
    connection); the database is dropped afterwards."""
    say(f"{section}: creating {name}")
    url = create_database(server_url, name, domain)
    conn = connect(url)
    try:
        yield url, conn
    finally:
        conn.close()
        database(domain).discard_connection()
        platform.drop_databases(server_url, DROP_PREFIX)


@contextmanager
def functions_on(domain: str, url: str) -> Iterator[None]:
    """The `domain` functions of this process use the database at `url` meanwhile."""
    name = f"INKWELL_{domain.upper()}_DB_URL"
    before = os.environ.get(name)
    db = database(domain)
    db.discard_connection()
    os.environ[name] = url
    try:
        yield
    finally:
        db.discard_connection()
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@contextmanager
def timed(seconds: dict[str, float], label: str) -> Iterator[None]:
    """Record in `seconds[label]` how long the block took."""
    start = time.perf_counter()
    yield
    seconds[label] = time.perf_counter() - start


def vacuum_analyze(conn: pg8000.native.Connection, seed_s: dict[str, float], section: str,
                   say: Say) -> None:
    say(f"{section}: VACUUM ANALYZE")
    with timed(seed_s, "VACUUM ANALYZE"):
        conn.run("VACUUM ANALYZE")


def deep_page(count: int, wanted: int) -> int:
    """`wanted`, or the last page but one of a list of `count` items if it is shorter."""
    return max(2, min(wanted, -(-count // PAGE) - 1))


# --- EXPLAIN ---------------------------------------------------------------------------------

@dataclass
class PlanFacts:
    """What EXPLAIN (ANALYZE, BUFFERS) says of one execution of a read's statement."""

    server_ms: float
    rows_read: int  # rows the scans returned or filtered out, over all loops
    buffers: int  # shared buffers hit or read
    scans: list[str]
    sorts: list[str]  # sorts, aggregates, parallel workers
    text: list[str] = field(default_factory=list)  # the plan, as EXPLAIN prints it

    def summary(self) -> str:
        return "; ".join(self.scans + self.sorts)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _count(n: float) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else f"{n:.0f}"


def _input_rows(node: dict[str, Any]) -> float:
    return float(sum(c.get("Actual Rows", 0) * c.get("Actual Loops", 1)
                     for c in node.get("Plans", ())))


def plan_facts(document: Any) -> PlanFacts:
    """The facts of an EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) result: the scans (with the
    rows each read over all its loops), the sorts, aggregates and parallel workers."""
    top = document[0] if isinstance(document, list) else document
    root = top["Plan"]
    scans, others, rows = [], [], 0
    for node in _nodes(root):
        kind = node["Node Type"]
        loops = node.get("Actual Loops", 1) or 0
        if "Relation Name" in node:
            # Actual Rows and Rows Removed are averages per loop.
            seen = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                    + node.get("Rows Removed by Index Recheck", 0)) * loops
            rows += int(seen)
            where = node.get("Index Name") or node["Relation Name"]
            parallel = "Parallel " if node.get("Parallel Aware") else ""
            direction = " Backward" if node.get("Scan Direction") == "Backward" else ""
            scans.append(f"{parallel}{kind}{direction} {where} {_count(seen)}")
        elif kind in ("Sort", "Incremental Sort"):
            method = node.get("Sort Method", "")
            others.append(f"{kind} ({method}) of {_count(node.get('Actual Rows', 0) * loops)}"
                          if method else kind)
        elif kind == "Aggregate" and node.get("Strategy") != "Plain" \
                and node.get("Partial Mode") != "Finalize":
            others.append(f"{node.get('Strategy', '')} Aggregate of {_count(_input_rows(node))}")
        elif kind in ("Gather", "Gather Merge"):
            others.append(f"{kind} ({node.get('Workers Launched', 0)} workers)")
    buffers = int(root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0))
    return PlanFacts(float(top.get("Execution Time", 0.0)), rows, buffers, scans, others)


def one_statement(steps: Sequence[Step]) -> Step | None:
    """The statement of a recorded call that sent exactly one (None otherwise)."""
    statements = [s for s in steps if not s.control]
    return statements[0] if len(statements) == 1 else None


def explain_sql(conn: pg8000.native.Connection, sql: str, params: Mapping[str, Any],
                ) -> tuple[PlanFacts, dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of `sql` run with `params`: its facts with the plan's
    text, and the JSON document of the plan."""
    (row,) = conn.run("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) " + sql, **params)
    facts = plan_facts(row[0])
    document = row[0][0] if isinstance(row[0], list) else row[0]
    lines = conn.run("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql, **params)
    facts.text = [str(r[0]) for r in lines]
    return facts, document


# --- the requests ----------------------------------------------------------------------------

def items_check(size: int, more: bool, first_id: str | None = None) -> Callable[[Any], bool]:
    """A 200 with `size` items (and a nextCursor when `more` follow), starting with
    `first_id` if given."""
    def check(result: Any) -> bool:
        if not isinstance(result, dict) or result.get("statusCode") != 200:
            return False
        body = json.loads(result["body"])
        items = body["items"]
        if len(items) != size or bool(body.get("nextCursor")) != more:
            return False
        return first_id is None or items[0]["id"] == first_id

    return check


class Timed(Protocol):
    """A request of a section, timed through its handler (a read, a call)."""

    statements: int  # the statements its recorded call sent

    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def route(self) -> wiring.Route: ...
    @property
    def check(self) -> Callable[[Any], bool]: ...
    @property
    def baseline(self) -> str | None: ...  # the key of the page-1 read a deep page is held to
    @property
    def samples(self) -> Samples: ...
    @property
    def errors(self) -> list[str]: ...
    @property
    def n(self) -> int: ...


T = TypeVar("T", bound=Timed)


def record_call(item: Timed, event: Event, round_trips: Callable[[], int]) -> list[Step]:
    """One call of `item` (untimed), recorded: the statements it sent."""
    handler = load_handler(item.route)
    with recording() as steps:
        one = time_calls(handler, [(event, context_for(item.route))], item.check, round_trips)
    if one.failures:
        item.errors.append(f"recorded call failed: {one.first_failure}")
    item.statements = sum(1 for s in steps if not s.control)
    return steps


def interleave(items: Sequence[T], *, warmup: int, calls: int, seed: int,
               event: Callable[[T, int], Event | None], round_trips: Callable[[], int],
               ) -> None:
    """`warmup` untimed rounds, then `calls` timed ones, each calling every item once in a
    shuffled order (the same orders for the same `seed`); `event(item, round)` is the
    request of the round, or None where the item sits the round out."""
    order = list(items)
    shuffle = random.Random(seed).shuffle  # noqa: S311  (fixed seed: same orders)
    failed_warmup: set[str] = set()
    for round_ in range(warmup + calls):
        shuffle(order)
        for item in order:
            request = event(item, round_)
            if request is None:
                continue
            one = time_calls(load_handler(item.route), [(request, context_for(item.route))],
                             item.check, round_trips)
            if round_ < warmup:
                if one.failures and item.key not in failed_warmup:
                    failed_warmup.add(item.key)
                    item.errors.append(f"a warm-up call failed: {one.first_failure}")
                continue
            item.samples.extend(one)


@dataclass
class ScaleResults(Generic[T]):
    """What a data-scale section found, but its sizes and its requests (`timed()`)."""

    counts: dict[str, int] = field(default_factory=dict)
    seed_s: dict[str, float] = field(default_factory=dict)
    # The section's functions' cold ratios to the hello-world: (name, ratio, verdict).
    cold: list[tuple[str, float | None, bool | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    measure_s: float = 0.0

    def timed(self) -> Sequence[T]:
        raise NotImplementedError

    def ratio(self, item: T) -> float | None:
        return baseline_ratio(self.timed(), item)

    def deep_pass(self, item: T) -> bool | None:
        return deep_pass(self.timed(), item, DEEP_BUDGET)


def baseline_ratio(items: Sequence[T], item: T) -> float | None:
    """`item`'s p50 over its baseline's (None without one, or without samples)."""
    base = next((i for i in items if i.key == item.baseline), None) if item.baseline else None
    if base is None or not base.n or not item.n:
        return None
    return item.samples.p50_ms / base.samples.p50_ms


def deep_pass(items: Sequence[T], item: T, budget: float) -> bool | None:
    """A deep page's p50 within `budget` times its page 1's (None for other requests)."""
    if item.baseline is None:
        return None
    ratio = baseline_ratio(items, item)
    return ratio is not None and ratio <= budget


# --- the reports -----------------------------------------------------------------------------

Ratios = list[tuple[str, float | None, bool | None]]  # (name, ratio, verdict)


def timing_failures(where: str, item: Timed, ratio: float | None, deep: bool | None,
                    budget: float, round_trips: str | None) -> list[str]:
    """What failed of a timed request: its deep-page budget, its round trips (`round_trips`:
    what to say when they fail, None when they pass), its calls, its errors."""
    found = []
    if deep is False:
        found.append(f"{where}: p50 {'-' if ratio is None else f'{ratio:.2f}x'}"
                     f" > {budget}x page 1's")
    if round_trips is not None:
        found.append(f"{where}: SQL round trips {round_trips}")
    if item.samples.failures:
        found.append(f"{where}: {item.samples.failures} failed calls"
                     f" ({item.samples.first_failure})")
    found.extend(f"{where}: {e}" for e in item.errors)
    return found


def seeding_text(section: ScaleResults[Any], detail: str = "") -> str:
    """The end of a section's "Seeded:" line: the size, the seeding time (with `detail`),
    VACUUM ANALYZE's and the whole section's."""
    s = section.seed_s
    seeding = sum(v for k, v in s.items() if k != "VACUUM ANALYZE")
    return (f"{section.counts.get('bytes', 0) / 2**20:,.0f} MB with indexes. Seeding"
            f" {seeding:.1f} s{detail}, VACUUM ANALYZE {s.get('VACUUM ANALYZE', 0):.1f} s;"
            f" the whole section {section.measure_s:.0f} s.")


def preamble(title: str, seeded: str, items: Sequence[Timed], columns: str, budgets: str,
             notes: Sequence[str]) -> list[str]:
    """The lines a section's table follows: what it is, what was seeded, what the columns
    (`columns`: after the timing ones) and the budgets are, its notes."""
    n = max((i.n for i in items), default=0)
    return [
        "",
        title,
        seeded,
        f"p50/p99 in ms over n={n} calls each (nearest rank), after untimed warm-up rounds;"
        " RT/req = SQL round trips per request (Database.round_trips delta, every call);"
        + columns,
        budgets,
        *(f"Note: {note}" for note in notes),
    ]


def plan_cells(plan: PlanFacts | None) -> list[str]:
    """The server ms, rows read and plan (scans; sorts) cells of a statement's plan."""
    if plan is None:
        return ["-", "-", "-"]
    return [f"{plan.server_ms:.2f}", f"{plan.rows_read:,}", plan.summary()]


def timing_cells(item: Timed, ratio: float | None, round_trips: bool | None,
                 deep: bool | None) -> list[str]:
    """The cells the sections' tables start a request's row with: the request, p50, p99,
    n, RT/req, its verdict, x page 1 and its verdict."""
    s = item.samples
    return [
        item.label,
        _ms(s.p50_ms, 2) if s.n else "-",
        _ms(s.p99_ms, 2) if s.n else "-",
        str(s.n),
        s.round_trips_text(),
        _verdict(round_trips),
        "" if ratio is None else f"{ratio:.2f}x",
        "" if item.baseline is None else _verdict(deep),
    ]


@dataclass(frozen=True)
class RatioRange:
    """The measured ratios of a list: how many, the lowest, the highest and whose it is,
    and the verdict ("PASS", or "FAIL for ..." naming those over the budget)."""

    measured: int
    low: float
    high: float
    worst: str
    verdict: str


def ratio_range(items: Ratios) -> RatioRange | None:
    measured = [(name, ratio, ok) for name, ratio, ok in items if ratio is not None]
    if not measured:
        return None
    over = [name for name, _, ok in measured if ok is False]
    worst = max(measured, key=lambda c: c[1] or 0.0)
    return RatioRange(len(measured), min(c[1] or 0.0 for c in measured), worst[1] or 0.0,
                      worst[0], "PASS" if not over else f"FAIL for {len(over)}: {', '.join(over)}")


def plan_json(plan: PlanFacts | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {"server_ms": round(plan.server_ms, 3), "rows_read": plan.rows_read,
            "buffers": plan.buffers, "scans": plan.scans, "sorts": plan.sorts,
            "plan": plan.text}


def timing_json(item: Timed) -> dict[str, Any]:
    """The JSON a request's entry starts with (key to statements)."""
    s = item.samples
    return {
        "key": item.key,
        "label": item.label,
        "function": item.route.name,
        "p50_ms": round(s.p50_ms, 3) if s.n else None,
        "p99_ms": round(s.p99_ms, 3) if s.n else None,
        "n": s.n,
        "failures": s.failures,
        "round_trips": sorted(set(s.round_trips)),
        "statements": item.statements,
    }


def ratios_json(items: Ratios, key: str) -> list[dict[str, Any]]:
    return [{"function": name, key: None if ratio is None else round(ratio, 3),
             "budget": _verdict(ok)} for name, ratio, ok in items]


def seed_json(seed_s: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in seed_s.items()}

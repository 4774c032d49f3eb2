"""The benchmark's helpers (`make bench` itself is a benchmark, not a test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.bench import cold
from local.bench.report import FunctionResult
from local.bench.sql import Plan, Step
from local.bench.timing import Samples, percentile, time_calls


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values[:15], 99) == 15  # few samples: p99 is the maximum
    assert percentile([3.0], 50) == 3.0


def test_time_calls_counts_failures_and_round_trips() -> None:
    counter = [0]

    def call(event: dict, _context: object) -> dict:
        counter[0] += event["trips"]
        if event.get("boom"):
            raise RuntimeError("boom")
        return {"statusCode": event["status"]}

    inputs = [({"trips": 2, "status": 200}, None), ({"trips": 2, "status": 500}, None),
              ({"trips": 3, "status": 200, "boom": True}, None)]
    samples = time_calls(call, inputs, lambda r: r["statusCode"] == 200, lambda: counter[0])
    assert samples.n == 3
    assert samples.round_trips == [2, 2, 3]
    assert not samples.round_trips_fixed
    assert samples.round_trips_text() == "2..3"
    assert samples.failures == 2
    assert samples.first_failure is not None and "500" in samples.first_failure


def test_plan_describes_a_transaction() -> None:
    plan = Plan((Step("BEGIN", control=True), Step("UPDATE t SET a = :a", {"a": 1}),
                 Step("COMMIT", control=True)))
    assert plan.statements == 1
    assert plan.transactional
    assert plan.param_names() == {"a"}
    assert "UPDATE" in plan.summary()
    assert not Plan((Step("SELECT 1"),)).transactional


def test_warm_budget_and_fixed_round_trips() -> None:
    r = FunctionResult("f", "http")
    r.warm = Samples(seconds=[0.003] * 10, round_trips=[1] * 10)
    r.bare = Samples(seconds=[0.001] * 10, round_trips=[1] * 10)
    r.capture_round_trips = 1
    assert r.warm_ratio() == 3.0
    assert r.warm_pass() is False
    assert r.round_trips_pass() is True
    r.capture_round_trips = 2
    assert r.round_trips_pass() is False


def test_stdlib_only_cache_drops_the_project_and_site_packages(tmp_path: Path) -> None:
    project = tmp_path / "work" / "project"
    filled = tmp_path / "pycache"
    for kept in ("usr/lib/python3/__pycache__/os.pyc",):
        (filled / kept).parent.mkdir(parents=True)
        (filled / kept).write_text("")
    dropped = filled / project.relative_to("/") / "mod.pyc"
    dropped.parent.mkdir(parents=True)
    dropped.write_text("")
    cold.stdlib_only_cache(tmp_path, [project])
    result = tmp_path / "pycache-stdlib-only"
    assert (result / "usr/lib/python3/__pycache__/os.pyc").exists()
    assert not (result / project.relative_to("/")).exists()


def test_bytecode_environments() -> None:
    cached, source = cold.bytecode_environments(
        {"PYTHONDONTWRITEBYTECODE": "1", "X": "y"}, Path("/scratch"))
    assert "PYTHONDONTWRITEBYTECODE" not in cached
    assert cached["PYTHONPYCACHEPREFIX"] == "/scratch/pycache"
    assert source["PYTHONDONTWRITEBYTECODE"] == "1"
    assert source["PYTHONPYCACHEPREFIX"] != cached["PYTHONPYCACHEPREFIX"]
    assert source["X"] == "y"


def test_layer_blocks_dev_packages_only() -> None:
    from local.bench.layer import blocked_top_levels

    blocked = set(blocked_top_levels(Path(__file__).resolve().parents[2] / "pyproject.toml"))
    assert {"fastapi", "pydantic", "pg8000", "jwt", "bcrypt", "mangum"}.isdisjoint(blocked)
    assert "botocore" not in blocked  # the Lambda runtime provides it
    assert "pytest" in blocked


# --- the events section ----------------------------------------------------------------------

def _consumer(name: str, *types: str):
    import wiring

    return wiring.Consumer(name=name, handler=f"users.{name}.handler", events=types)


def test_events_selection_follows_only() -> None:
    from local.bench.events_suite import select

    audit, content = _consumer("users-audit", "user.updated"), _consumer("content-users")
    everything = select([], [audit, content])
    assert everything.publish and everything.relay and everything.consumers == (audit, content)
    assert select(["events"], [audit, content]) == everything
    only_relay = select(["events-relay"], [audit, content])
    assert only_relay.relay and not only_relay.publish and not only_relay.consumers
    one = select(["users-audit", "users-login"], [audit, content])
    assert one.consumers == (audit,) and not one.needs_bus
    assert not select(["users-login"], [audit, content]).any


def test_fresh_consumer_events_are_new_events_about_new_subjects(tmp_path: Path) -> None:
    import json

    from local.bench.events_suite import fresh_events, sample_type

    sample: dict[str, Any] = {
        "id": "cee154ca-516d-5ea8-b080-41a2c5401dcf", "detail-type": "user.updated",
        "detail": {"eventId": "ddbbfccf-ec23-5936-aa93-91ea5a0b89cc", "correlationId": "x",
                   "version": 1,
                   "data": {"id": "3f1c2b9e-8d4a-4c6e-9b1a-2d5e7f8a9b0c", "username": "alice",
                            "bio": "Down the rabbit hole."}},
    }
    made = fresh_events(sample, 3)
    assert len({e["id"] for e in made}) == 3
    assert len({e["detail"]["eventId"] for e in made}) == 3
    assert len({e["detail"]["data"]["id"] for e in made}) == 3
    assert len({e["detail"]["data"]["username"] for e in made}) == 3
    assert all(e["detail"]["data"]["bio"] == "Down the rabbit hole." for e in made)
    assert sample["detail"]["data"]["username"] == "alice"  # the sample is not changed

    (tmp_path / "user.registered.json").write_text(json.dumps(sample))
    (tmp_path / "user.updated.json").write_text(json.dumps(sample))
    assert sample_type(_consumer("c", "user.registered", "user.updated"), tmp_path) == \
        "user.updated"
    assert sample_type(_consumer("c", "user.deactivated", "user.registered"), tmp_path) == \
        "user.registered"
    assert sample_type(_consumer("c", "post.created"), tmp_path) is None


def _entry(detail_type: str, event_id: str, bus: str = "bus"):
    import json

    from inkwell.eventbridge import Entry

    return Entry("inkwell.users", detail_type, json.dumps({"eventId": event_id}), bus)


def test_put_problem_checks_one_accepted_entry_per_publishing_call() -> None:
    from inkwell.eventbridge import EntryResult
    from local.bench.events_suite import OUTBOX, UNROUTED, Variant, put_problem
    from local.bench.moto_bus import PutCall

    publishing = Variant(UNROUTED, "bus", dict)
    ok = PutCall(0.001, (_entry("user.updated", "e1"),), (EntryResult("id", None, None),))
    refused = PutCall(0.001, (_entry("user.updated", "e1"),),
                      (EntryResult(None, "InternalFailure", "no"),))
    assert put_problem(publishing, [ok], "user.updated") is None
    assert put_problem(publishing, [], "user.updated") == "0 PutEvents calls, expected 1"
    assert "accepted" in str(put_problem(publishing, [refused], "user.updated"))
    assert "published user.updated" in str(put_problem(publishing, [ok], "user.role_changed"))
    assert put_problem(Variant(OUTBOX, None, dict), [], "user.updated") is None
    assert put_problem(Variant(OUTBOX, None, dict), [ok], "user.updated") is not None


def test_deliveries_are_checked_queue_by_queue() -> None:
    from inkwell.eventbridge import EntryResult
    from local.bench.moto_bus import PutCall, check_deliveries, event_ids, expected_deliveries

    calls = [PutCall(0.01, (_entry("user.updated", "a"), _entry("user.role_changed", "b"),
                            _entry("user.updated", "c")),
                     (EntryResult("1", None, None), EntryResult("2", None, None),
                      EntryResult(None, "Throttling", "slow down")))]
    published = event_ids(calls)
    assert published == {"a": "user.updated", "b": "user.role_changed"}
    wanted = expected_deliveries(published, [
        _consumer("audit", "user.updated", "user.role_changed"),
        _consumer("content", "user.updated")])
    assert wanted == {"audit": {"a", "b"}, "content": {"a"}}
    assert check_deliveries({"audit": ["b", "a"], "content": ["a"]}, wanted) == []
    problems = check_deliveries({"audit": ["a", "a"], "content": ["a", "b"]}, wanted)
    assert problems == [
        "audit queue: 1 missing, 0 unexpected, 1 duplicated of 2 events",
        "content queue: 0 missing, 1 unexpected, 0 duplicated of 1 events",
    ]


def test_put_events_log_records_calls_and_restores_the_client(monkeypatch) -> None:
    from inkwell.eventbridge import EntryResult, EventBridgeClient
    from local.bench.moto_bus import PutEventsLog

    def fake(self, entries):
        return [EntryResult("id", None, None) for _ in entries]

    monkeypatch.setattr(EventBridgeClient, "put_events", fake)
    log = PutEventsLog()
    with log.active():
        EventBridgeClient(region="us-east-1").put_events([_entry("user.updated", "a")])
    EventBridgeClient(region="us-east-1").put_events([_entry("user.updated", "b")])
    assert len(log.calls) == 1
    assert log.calls[0].accepted == 1 and log.calls[0].bus == "bus"
    assert EventBridgeClient.put_events is fake


def test_publishing_budget_is_one_extra_round_trip() -> None:
    from local.bench.events_report import extra_round_trips, failures, round_trip_pass
    from local.bench.events_suite import (
        NO_EVENT,
        OUTBOX,
        ROUTED,
        EventsSection,
        Variant,
        WriteResult,
    )

    def variant(key: str, trips: int) -> Variant:
        v = Variant(key, None, dict)
        v.samples = Samples(seconds=[0.001] * 3, round_trips=[trips] * 3)
        return v

    write = WriteResult("w", "user.updated", [variant(NO_EVENT, 3), variant(OUTBOX, 3),
                                              variant(ROUTED, 4)])
    routed = write.variants[2]
    assert write.base() is write.variants[0]
    assert extra_round_trips(write, routed) == 1
    assert round_trip_pass(write, routed) is True
    assert round_trip_pass(write, write.variants[1]) is None  # not publishing: no budget
    assert failures(EventsSection(writes=[write])) == []
    routed.samples = Samples(seconds=[0.001] * 3, round_trips=[5] * 3)
    assert round_trip_pass(write, routed) is False
    assert len(failures(EventsSection(writes=[write]))) == 1


def test_samples_extend_keeps_the_first_failure() -> None:
    total = Samples()
    total.extend(Samples(seconds=[0.1], round_trips=[1]))
    total.extend(Samples(seconds=[0.2], round_trips=[2], failures=1, first_failure="first"))
    total.extend(Samples(seconds=[0.3], round_trips=[2], failures=1, first_failure="second"))
    assert total.n == 3 and total.round_trips == [1, 2, 2]
    assert total.failures == 2 and total.first_failure == "first"


# --- the content scenarios and the content data-scale section --------------------------------

def test_content_responses_are_checked_by_status_and_body() -> None:
    import json

    from local.bench.content_scenarios import full_page, responds

    page = {"items": [{}] * 20, "nextCursor": "abc"}
    ok = {"statusCode": 200, "body": json.dumps(page)}
    assert responds(200, full_page)(ok)
    assert not responds(201, full_page)(ok)
    assert not responds(200, full_page)({"statusCode": 200, "body": json.dumps(
        {"items": [{}] * 19, "nextCursor": None})})
    assert not responds(200, full_page)({"statusCode": 200, "body": "{}"})  # no items
    assert responds(204)({"statusCode": 204, "body": ""})


def test_scale_seed_statements_bind_every_parameter() -> None:
    import re

    from local.bench.content_scale import Sizes, seed_statements

    statements = seed_statements(Sizes(), "00000000-0000-4000-8000-000000000001")
    assert [label for label, _, _ in statements][:3] == ["authors", "posts", "published_tags"]
    for label, sql, params in statements:
        named = set(re.findall(r"(?<![:\w]):([a-z_]+)", sql))
        assert named == set(params), label


def test_scale_chunks_and_deep_pages() -> None:
    from local.bench.content_scale import _chunks, deep_page

    assert _chunks(1, 100_000, 2) == [(1, 50_000), (50_001, 100_000)]
    assert _chunks(1, 5, 2) == [(1, 3), (4, 5)]
    assert _chunks(1, 7, 1) == [(1, 7)]
    assert deep_page(89_000, 1000) == 1000
    assert deep_page(100, 1000) == 4  # 5 pages: the last but one
    assert deep_page(10, 1000) == 2


def test_scale_page_check() -> None:
    import json

    from local.bench.content_scale import deep_page_check, page_check

    def page(n: int, more: bool, first: str = "a") -> dict[str, Any]:
        items = [{"id": first}] + [{"id": "x"}] * (n - 1)
        return {"statusCode": 200, "body": json.dumps(
            {"items": items, "nextCursor": "c" if more else None})}

    assert page_check(1000)(page(20, True))
    assert not page_check(1000)(page(20, False))
    assert page_check(7)(page(7, False)) and not page_check(7)(page(7, True))
    assert page_check(1000, "a")(page(20, True)) and not page_check(1000, "b")(page(20, True))
    assert deep_page_check(45, 3, "a")(page(5, False))  # rows 41..45
    assert not page_check(1000)({"statusCode": 404, "body": "{}"})


def test_scale_cursor_builder_is_the_services_cursor() -> None:
    import datetime as dt
    import uuid

    from content import service
    from inkwell.pagination import decode_time_key
    from local.bench.content_scale import cursor_after

    def row(minutes: int) -> dict[str, Any]:
        at = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC) - dt.timedelta(
            minutes=minutes)
        return {
            "id": uuid.uuid4(), "slug": f"s{minutes}", "title": "t", "summary": "", "tags": [],
            "status": "published", "author_id": uuid.uuid4(), "author_username": "a",
            "author_first_name": None, "author_last_name": None, "publish_at": None,
            "published_at": at, "created_at": at, "updated_at": at, "favorites_count": 0,
            "favorited": False,
        }

    rows = [row(0), row(5)]
    handed_out = service._page(rows, 1, "published_at").next_cursor
    key = (rows[0]["published_at"], str(rows[0]["id"]))
    assert cursor_after(key) == handed_out
    assert decode_time_key(cursor_after(key)) == key


def test_scale_plan_facts_count_rows_over_loops() -> None:
    from local.bench.content_scale import plan_facts

    document = [{"Execution Time": 1.5, "Plan": {
        "Node Type": "Limit", "Shared Hit Blocks": 90, "Shared Read Blocks": 10, "Plans": [
            {"Node Type": "Index Scan", "Relation Name": "posts", "Index Name": "posts_published",
             "Actual Rows": 21, "Actual Loops": 1, "Rows Removed by Filter": 100},
            {"Node Type": "Index Only Scan", "Relation Name": "published_tags",
             "Index Name": "published_tags_pkey", "Scan Direction": "Backward",
             "Actual Rows": 1, "Actual Loops": 21},
            {"Node Type": "Sort", "Sort Method": "top-N heapsort", "Actual Rows": 21,
             "Actual Loops": 1},
            {"Node Type": "Gather Merge", "Workers Launched": 1, "Plans": [
                {"Node Type": "Aggregate", "Strategy": "Hashed", "Partial Mode": "Partial",
                 "Actual Rows": 200, "Actual Loops": 2, "Plans": [
                     {"Node Type": "Seq Scan", "Relation Name": "published_tags",
                      "Parallel Aware": True, "Actual Rows": 134_538, "Actual Loops": 2}]}]},
        ]}}]
    facts = plan_facts(document)
    assert facts.server_ms == 1.5 and facts.buffers == 100
    assert facts.rows_read == 121 + 21 + 269_076
    assert facts.scans == ["Index Scan posts_published 121",
                           "Index Only Scan Backward published_tags_pkey 21",
                           "Parallel Seq Scan published_tags 269k"]
    assert facts.sorts == ["Sort (top-N heapsort) of 21", "Gather Merge (1 workers)",
                           "Hashed Aggregate of 269k"]


def test_scale_budgets() -> None:
    import wiring
    from local.bench.content_scale import Read, ScaleSection
    from local.bench.content_scale_report import failures, render

    route = wiring.route_by_name("content-list-posts")

    def read(key: str, ms: float, trips: list[int], baseline: str | None = None) -> Read:
        r = Read(key, key, route, [], lambda _: True, baseline=baseline)
        r.samples = Samples(seconds=[ms / 1000] * len(trips), round_trips=trips)
        return r

    section = ScaleSection(reads=[read("p1", 2.0, [1, 1]), read("deep", 2.9, [1, 1], "p1"),
                                  read("other", 9.0, [1, 2])])
    deep = section.reads[1]
    assert section.ratio(deep) == 1.45 and section.deep_pass(deep) is True
    assert section.deep_pass(section.reads[0]) is None
    assert section.round_trips_pass(section.reads[2]) is False
    assert failures(section) == ["content-scale other: SQL round trips not fixed (1..2)"]
    deep.samples = Samples(seconds=[0.0031] * 2, round_trips=[1, 1])
    assert section.deep_pass(deep) is False
    assert len(failures(section)) == 2
    assert any("deep" in line and "FAIL" in line for line in render(section))


def test_scale_flags_a_p50_far_above_its_statement() -> None:
    import wiring
    from local.bench.content_scale import PlanFacts, Read, ScaleSection
    from local.bench.content_scale_report import plan_mismatches

    route = wiring.route_by_name("content-list-posts")

    def read(p50_ms: float, server_ms: float) -> Read:
        r = Read("q", "search", route, [], lambda _: True)
        r.samples = Samples(seconds=[p50_ms / 1000] * 3, round_trips=[1] * 3)
        r.plan = PlanFacts(server_ms, 42, 10, [], [])
        return r

    assert plan_mismatches(ScaleSection(reads=[read(2.5, 0.4), read(273.0, 270.0)])) == []
    (note,) = plan_mismatches(ScaleSection(reads=[read(11.6, 0.26)]))
    assert "generic plan" in note

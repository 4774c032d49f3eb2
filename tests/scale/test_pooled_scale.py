"""500 warm execution environments, each with its own database connections, through
PgBouncer in transaction mode holding at most 20 server connections: 10,000 requests of
a read/write mix through the real handlers (gateway dispatch, authorizer, services,
repositories), with zero errors.

Runs in make test's pooled pass (INKWELL_TEST_PGBOUNCER=1), where the functions reach
their databases through the session's PgBouncer (5 server connections per database and
user, 20 per database at most). Prints the throughput; the benchmark, not this test,
judges speed.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

import pytest

import wiring
from inkwell.db import ConnectionParams, _databases
from local.pgbouncer import PgBouncer
from tests.conftest import Api, admin_url
from tests.integration.support import Account, sign_up

SESSIONS = 500
REQUESTS = 10_000
MAX_SERVER_CONNECTIONS = 20
AUTHORS = 20
POSTS = "/api/v1/posts"


def _publish(api: Api, author: Account, n: int) -> str:
    created = api.call(
        "POST",
        POSTS,
        {
            "title": f"Pooled post {n}",
            "summary": "s",
            "body": "b" * 200,
            "tags": ["pool", f"t{n % 5}"],
        },
        token=author.token,
    )
    assert created.status == 201, created.body
    post_id = str(created.json()["id"])
    published = api.call("POST", f"{POSTS}/{post_id}/publish", token=author.token)
    assert published.status == 200, published.body
    return post_id


def test_500_sessions_through_20_server_connections(
    api: Api, pooler: PgBouncer | None, event_bus: Any, database_urls: dict[str, str]
) -> None:
    if pooler is None:
        pytest.fail("run with INKWELL_TEST_PGBOUNCER=1 (make test's pooled pass)")
    authors = [sign_up(api, f"pool{i}") for i in range(AUTHORS)]
    posts = [_publish(api, authors[i % AUTHORS], i) for i in range(40)]
    assert event_bus.drain(30)  # comments knows the posts are open

    def request(n: int, who: Account) -> tuple[str, str, dict[str, Any] | None]:
        post = posts[n % len(posts)]
        kind = n % 20
        if kind < 7:
            return "GET", f"{POSTS}/{post}", None
        if kind < 10:
            return "GET", POSTS, None
        if kind < 12:
            return "GET", f"{wiring.API_PREFIX}/users/{authors[n % AUTHORS].id}", None
        if kind < 14:
            return "GET", f"{POSTS}/{post}/comments", None
        if kind < 16:
            return "POST", f"{POSTS}/{post}/favorite", None
        if kind < 17:
            return "DELETE", f"{POSTS}/{post}/favorite", None
        if kind < 18:
            return "GET", f"{wiring.API_PREFIX}/feed", None
        return "POST", f"{POSTS}/{post}/comments", {"body": f"Pooled comment {n}"}

    statuses: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(SESSIONS + 1)
    per_session = REQUESTS // SESSIONS

    def session(index: int) -> None:
        caller = Api()  # one execution environment: its own connections (per thread)
        who = authors[index % AUTHORS]
        try:
            start.wait(timeout=120)
            for i in range(per_session):
                method, path, body = request(index * per_session + i, who)
                try:
                    response = caller.call(method, path, body, token=who.token)
                    status = response.status
                    if status >= 300:
                        with lock:
                            failures.append(f"{method} {path}: {status} {response.body[:200]!r}")
                except Exception as exc:  # any exception is an error of the run
                    status = 599
                    with lock:
                        failures.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                with lock:
                    statuses[status] += 1
        finally:
            for db in list(_databases.values()):
                db.discard_connection()

    # The server connections the pooler holds, sampled while the sessions run.
    observer = ConnectionParams.from_url(admin_url(database_urls["users"])).connect("observer")
    peak = [0]
    done = threading.Event()

    def observe() -> None:
        while not done.is_set():
            (count,) = observer.run(
                "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE '%\\_app'"
            )[0]
            peak[0] = max(peak[0], int(count))
            time.sleep(0.05)

    threading.Thread(target=observe, daemon=True).start()
    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    start.wait(timeout=120)
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.perf_counter() - began
    done.set()
    time.sleep(0.1)
    observer.close()

    assert not any(t.is_alive() for t in threads), "a session hung"
    assert failures == [], failures[:10]
    assert sum(statuses.values()) == REQUESTS
    assert 0 < peak[0] <= MAX_SERVER_CONNECTIONS
    print(
        f"\npooled scale: {REQUESTS} requests from {SESSIONS} sessions through"
        f" at most {peak[0]} server connections in {elapsed:.1f} s:"
        f" {REQUESTS / elapsed:.0f} requests/s; statuses {dict(statuses)};"
        f" PgBouncer pool {pooler.pool_size} per database and user, 2 cores,"
        f" pid {os.getpid()}"
    )

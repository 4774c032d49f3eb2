"""The benchmark's own pieces that need no database: scenario coverage, the wire counter."""

from __future__ import annotations

import dataclasses
import socket
import threading

import pytest

import wiring
from bench import scenarios
from bench.cold import absent_packages
from bench.targets import all_targets
from bench.wire import RoundTrips


def test_every_route_has_a_scenario_and_every_scenario_a_route() -> None:
    assert scenarios.missing() == []
    assert [t.name for t in all_targets() if t.kind == "http"] == [r.name for r in wiring.ROUTES]


def test_a_route_without_a_scenario_is_named() -> None:
    new = dataclasses.replace(wiring.ROUTES[0], name="users-new-route")
    assert scenarios.missing((*wiring.ROUTES, new)) == ["users-new-route"]
    fewer = {k: v for k, v in scenarios.ALL.items() if k != "health"}
    assert scenarios.missing(scenarios=fewer) == ["health"]
    assert scenarios.missing(wiring.ROUTES[1:]) == ["health (no such route)"]


def test_the_bench_refuses_to_run_while_a_route_has_no_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(scenarios.ALL, "users-login")
    with pytest.raises(LookupError, match="users-login"):
        all_targets()


def test_packages_absent_on_lambda_are_the_dev_only_ones() -> None:
    absent = absent_packages()
    assert {"moto", "pytest", "pyperf"} <= set(absent)
    assert not {"pg8000", "fastapi", "mangum", "jwt", "bcrypt", "boto3"} & set(absent)


def _message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + (4 + len(payload)).to_bytes(4, "big") + payload


def _fake_server(answers: list[list[bytes]]) -> tuple[socket.socket, int]:
    """A server that, for each request it reads, sends the next answer in pieces."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            for pieces in answers:
                conn.recv(1024)
                for piece in pieces:
                    conn.sendall(piece)
                    threading.Event().wait(0.01)  # separate reads on the relay's side

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_the_relay_counts_ready_for_query_after_the_start_up() -> None:
    ready = _message(b"Z", b"I")
    rows = _message(b"T", b"x" * 10) + _message(b"D", b"y" * 20) + _message(b"C", b"SELECT 1")
    startup = _message(b"R", b"\0\0\0\0") + _message(b"S", b"a\0b\0") + ready
    answers = [
        [startup],
        [rows + ready],
        [rows[:3], rows[3:] + ready[:2], ready[2:]],  # a message split across reads
        [ready + _message(b"1") + ready],  # two exchanges' answers read at once
    ]
    listener, port = _fake_server(answers)
    relay = RoundTrips(("127.0.0.1", port))
    try:
        client = socket.create_connection(("127.0.0.1", relay.port))
        received = []
        for pieces in answers:
            client.sendall(b"request")
            wanted, got = sum(len(p) for p in pieces), b""
            while len(got) < wanted:
                got += client.recv(4096)
            received.append(got)
        assert received == [b"".join(p) for p in answers]  # forwarded unchanged
        assert relay.connections == 1
        assert relay.round_trips == relay.of_connection(0) == 4
        client.close()
    finally:
        relay.close()
        listener.close()


def test_url_for_points_at_the_relay_and_keeps_the_rest() -> None:
    relay = RoundTrips(("127.0.0.1", 1))
    try:
        assert relay.url_for("postgresql://me:pw@10.0.0.1:5433/db?x=1") == (
            f"postgresql://me:pw@127.0.0.1:{relay.port}/db?x=1"
        )
        assert relay.url_for("postgresql://10.0.0.1/db") == (
            f"postgresql://127.0.0.1:{relay.port}/db"
        )
    finally:
        relay.close()

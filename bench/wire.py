"""Counting SQL round trips from outside the process: a loopback relay in front of PostgreSQL.

`RoundTrips` listens on 127.0.0.1, forwards every byte between its clients and the real
server unchanged, and reads the server's side of the PostgreSQL wire protocol as it passes:
each ReadyForQuery message ('Z') ends one exchange (the server answered and waits for the
next request), whatever the driver sent to get there. The first one on a connection ends
the start-up (authentication, parameters) and is counted as a connection, not a round trip.

A function's domain is pointed at the relay by its database URL (`url_for`); the code under
measurement is unchanged and knows nothing of the count. Plain (non-TLS) connections only:
the local platform's PostgreSQL speaks no TLS.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

_READY_FOR_QUERY = ord("Z")


class RoundTrips:
    """A counting relay to one PostgreSQL server (`upstream`: host, port)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._per_connection: list[int] = []  # round trips of each connection, in order
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, name="round-trips-accept", daemon=True).start()

    @classmethod
    def for_url(cls, url: str) -> RoundTrips:
        parts = urlsplit(url)
        return cls((parts.hostname or "127.0.0.1", parts.port or 5432))

    @property
    def round_trips(self) -> int:
        """Of every connection so far."""
        with self._lock:
            return sum(self._per_connection)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._per_connection)

    def of_connection(self, index: int) -> int:
        """Of one connection (0: the first opened through the relay)."""
        with self._lock:
            return self._per_connection[index]

    def url_for(self, url: str) -> str:
        """`url` (a database on the upstream server) through this relay."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def close(self) -> None:
        with suppress(OSError):
            self._listener.close()
        for sock in list(self._open):
            with suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open += [client, server]
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _answers(self, server: socket.socket, client: socket.socket) -> None:
        """Server to client: frame the messages (type byte, int32 length) and count 'Z'."""
        pending = bytearray()
        index: int | None = None
        with suppress(OSError):
            while data := server.recv(65536):
                pending += data
                ready = 0
                while len(pending) >= 5:
                    size = 1 + int.from_bytes(pending[1:5], "big")
                    if len(pending) < size:
                        break
                    ready += pending[0] == _READY_FOR_QUERY
                    del pending[:size]
                if ready:
                    with self._lock:  # counted before the client can see the answer
                        if index is None:
                            index, ready = len(self._per_connection), ready - 1
                            self._per_connection.append(0)
                        self._per_connection[index] += ready
                client.sendall(data)
        for sock in (server, client):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def counting(url: str) -> Iterator[tuple[RoundTrips, str]]:
    """A relay to the server of `url`, and `url` through it; closed on exit."""
    relay = RoundTrips.for_url(url)
    try:
        yield relay, relay.url_for(url)
    finally:
        relay.close()

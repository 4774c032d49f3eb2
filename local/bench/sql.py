"""The "bare handler doing the same SQL" baseline.

1. `recording()` captures, during one real warm invocation of a function, every statement it
   sends through `inkwell.db.Session.rows` (SQL text and parameters) and every statement sent
   with pg8000's `Connection.run` (the unit of work's BEGIN / COMMIT / ROLLBACK). This is
   instrumentation: the real function runs, against the real database.
2. `BareDatabase` replays such a `Plan` with raw pg8000 on one reused connection, each
   statement a named prepared statement prepared on first use, the same way the function's
   statements run. Per call only the parameters that must be fresh (a new username, the
   hash of a new refresh token, ...) are overridden by name; everything else is sent as the
   function sent it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pg8000.native

from inkwell.db import ConnectionParams, Session

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Step:
    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    control: bool = False  # sent with Connection.run (BEGIN, COMMIT, ...), not prepared

    def describe(self) -> str:
        text = " ".join(self.sql.split())
        return text if len(text) <= 70 else text[:67] + "..."


@dataclass(frozen=True)
class Plan:
    """The statements one warm invocation of a function sent, in order."""

    steps: tuple[Step, ...]

    @property
    def statements(self) -> int:
        return sum(1 for s in self.steps if not s.control)

    @property
    def transactional(self) -> bool:
        return any(s.control and s.sql.strip().upper() == "BEGIN" for s in self.steps)

    def param_names(self) -> set[str]:
        return {name for s in self.steps for name in s.params}

    def summary(self) -> str:
        return " ; ".join(s.describe() if s.control else f"[{s.describe()}]" for s in self.steps)


@contextmanager
def recording() -> Iterator[list[Step]]:
    """Record the statements the functions send, while the block runs."""
    steps: list[Step] = []
    original_rows = Session.rows
    original_run = pg8000.native.Connection.run

    def rows(self: Session, sql: str, **params: Any) -> Any:
        steps.append(Step(sql, dict(params)))
        return original_rows(self, sql, **params)

    def run(self: pg8000.native.Connection, sql: str, stream: Any = None, types: Any = None,
            **params: Any) -> Any:
        steps.append(Step(sql, dict(params), control=True))
        return original_run(self, sql, stream=stream, types=types, **params)

    setattr(Session, "rows", rows)  # noqa: B010  (mypy refuses assigning to a method)
    setattr(pg8000.native.Connection, "run", run)  # noqa: B010
    try:
        yield steps
    finally:
        setattr(Session, "rows", original_rows)  # noqa: B010
        setattr(pg8000.native.Connection, "run", original_run)  # noqa: B010


class _CountingSocket:
    """Counts flushes of pg8000's buffered socket: one flush is one round trip."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class BareDatabase:
    """One raw pg8000 connection with named prepared statements, nothing else."""

    def __init__(self, params: ConnectionParams) -> None:
        self.conn = params.connect("inkwell-bench-bare")
        self._socket = _CountingSocket(self.conn._sock)
        self.conn._sock = self._socket
        self._prepared: dict[str, Any] = {}

    @property
    def round_trips(self) -> int:
        return self._socket.flushes

    def rows(self, sql: str, **params: Any) -> Rows:
        statement = self._prepared.get(sql)
        if statement is None:
            statement = self._prepared[sql] = self.conn.prepare(sql)
        values = statement.run(**params)
        names = [column["name"] for column in statement.columns or ()]
        return [dict(zip(names, value, strict=True)) for value in values or ()]

    def replay(self, plan: Plan, overrides: Mapping[str, Any]) -> list[Rows]:
        """Send the plan's statements in order, with `overrides` replacing parameters."""
        results: list[Rows] = []
        for step in plan.steps:
            if step.control:
                self.conn.run(step.sql)
                continue
            params = dict(step.params)
            for name in params.keys() & overrides.keys():
                params[name] = overrides[name]
            results.append(self.rows(step.sql, **params))
        return results

    def close(self) -> None:
        self.conn.close()


# A bare handler: (database, plan, API Gateway event) -> Lambda proxy response.
BareHandler = Callable[[BareDatabase, Plan, dict[str, Any]], dict[str, Any]]

"""Timing loops and statistics, shared by the warm and cold measurements."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was actually observed."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Samples:
    """Latencies (seconds) and SQL round trips of a series of warm invocations."""

    seconds: list[float] = field(default_factory=list)
    round_trips: list[int] = field(default_factory=list)
    failures: int = 0
    first_failure: str | None = None

    @property
    def n(self) -> int:
        return len(self.seconds)

    @property
    def p50_ms(self) -> float:
        return percentile(self.seconds, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.seconds, 99) * 1000

    @property
    def round_trips_fixed(self) -> bool:
        return len(set(self.round_trips)) == 1

    def extend(self, other: Samples) -> None:
        """Append the calls of `other` (e.g. one call timed on its own) to these."""
        self.seconds.extend(other.seconds)
        self.round_trips.extend(other.round_trips)
        if other.failures and self.first_failure is None:
            self.first_failure = other.first_failure
        self.failures += other.failures

    def round_trips_text(self) -> str:
        found = sorted(set(self.round_trips))
        if not found:
            return "-"
        return str(found[0]) if len(found) == 1 else f"{found[0]}..{found[-1]}"


def _describe(result: Any) -> str:
    if isinstance(result, dict) and "statusCode" in result:
        return f"status {result['statusCode']}: {str(result.get('body'))[:200]}"
    return repr(result)[:200]


def time_calls(
    call: Callable[[dict[str, Any], Any], Any],
    inputs: Sequence[tuple[dict[str, Any], Any]],
    check: Callable[[Any], bool],
    round_trips: Callable[[], int],
) -> Samples:
    """Invoke `call(event, context)` once per input; only the call itself is timed."""
    samples = Samples()
    clock = time.perf_counter
    for event, context in inputs:
        before = round_trips()
        error: str | None = None
        start = clock()
        try:
            result = call(event, context)
        except Exception as exc:
            result, error = None, f"{type(exc).__name__}: {exc}"
        elapsed = clock() - start
        samples.round_trips.append(round_trips() - before)
        samples.seconds.append(elapsed)
        if error is not None or not check(result):
            samples.failures += 1
            if samples.first_failure is None:
                samples.first_failure = error or _describe(result)
    return samples

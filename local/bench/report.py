"""Budgets, the printed tables and build/bench.json."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.bench.cold import ColdResult
from local.bench.timing import Samples

COLD_BUDGET = 1.3  # an HTTP function's cold start, times the FastAPI hello-world's
AUTHORIZER_COLD_BUDGET = 0.5
WARM_BUDGET = 2.0  # warm p50, times the bare handler doing the same SQL
# The hello-world's cold start is pure CPU: when its wall time exceeds its CPU time by more
# than this, the children waited for a CPU (other load on the machine).
BUSY_WALL_PER_CPU = 1.15


@dataclass
class FunctionResult:
    name: str
    kind: str  # "http", "authorizer" or "baseline"
    cold: ColdResult | None = None
    cold_source: ColdResult | None = None  # no .pyc outside the stdlib
    cold_layer: ColdResult | None = None  # only the Lambda layer's third-party packages
    bcrypt_ms: float = 0.0  # bcrypt work in one call at the production cost (estimate)
    warm: Samples | None = None
    bare: Samples | None = None
    capture_round_trips: int | None = None
    statements: int | None = None
    transactional: bool = False
    sql: str = ""
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    # --- budgets: None when not applicable or not measured
    def cold_ratio(self, hello: FunctionResult) -> float | None:
        if not self.cold or not self.cold.good or not hello.cold or not hello.cold.good:
            return None
        return self.cold.median_ms("total_s") / hello.cold.median_ms("total_s")

    def cold_layer_ratio(self, hello: FunctionResult) -> float | None:
        mine, base = self.cold_layer, hello.cold_layer
        if not mine or not mine.good or not base or not base.good:
            return None
        return mine.median_ms("total_s") / base.median_ms("total_s")

    def cold_cpu_ratio(self, hello: FunctionResult) -> float | None:
        if not self.cold or not self.cold.good or not hello.cold or not hello.cold.good:
            return None
        return self.cold.median_ms("cpu_s") / hello.cold.median_ms("cpu_s")

    def cold_ratio_without_bcrypt(self, hello: FunctionResult) -> float | None:
        """The cold ratio with the bcrypt work of the first call taken out (an estimate)."""
        if not self.bcrypt_ms or not self.cold or not self.cold.good or not hello.cold:
            return None
        ms = self.cold.median_ms("total_s") - self.bcrypt_ms
        return ms / hello.cold.median_ms("total_s")

    def cold_budget(self) -> float | None:
        return {"http": COLD_BUDGET, "authorizer": AUTHORIZER_COLD_BUDGET}.get(self.kind)

    def cold_pass(self, hello: FunctionResult) -> bool | None:
        ratio, budget = self.cold_ratio(hello), self.cold_budget()
        if budget is None:
            return None
        return ratio is not None and ratio <= budget and not self.cold_failures()

    def cold_failures(self) -> int:
        return self.cold.failures if self.cold else 0

    def warm_ratio(self) -> float | None:
        if not self.warm or not self.bare or not self.warm.n or not self.bare.n:
            return None
        return self.warm.p50_ms / self.bare.p50_ms

    def warm_pass(self) -> bool | None:
        if self.bare is None:
            return None if not self.errors else False
        ratio = self.warm_ratio()
        return ratio is not None and ratio <= WARM_BUDGET and not self.warm_failures()

    def warm_failures(self) -> int:
        return (self.warm.failures if self.warm else 0) + (self.bare.failures if self.bare else 0)

    def round_trips_pass(self) -> bool | None:
        if self.warm is None or not self.warm.n:
            return None
        same_as_capture = (
            self.capture_round_trips is None
            or {self.capture_round_trips} == set(self.warm.round_trips)
        )
        return self.warm.round_trips_fixed and same_as_capture

    def budget_failures(self, hello: FunctionResult) -> list[str]:
        found: list[str] = []
        if self.cold_pass(hello) is False:
            ratio = self.cold_ratio(hello)
            what = f"{ratio:.2f}x" if ratio is not None else "not measured"
            if self.cold_failures():
                problem = self.cold.problem if self.cold else ""
                what += f", {self.cold_failures()} failed runs ({problem})"
            without = self.cold_ratio_without_bcrypt(hello)
            if without is not None:
                what += f"; {without:.2f}x without its {self.bcrypt_ms:.0f} ms of bcrypt"
            found.append(f"{self.name}: cold start {what} > {self.cold_budget()}x hello-world")
        if self.warm_pass() is False:
            ratio = self.warm_ratio()
            what = f"{ratio:.2f}x" if ratio is not None else "not measured"
            if self.warm_failures():
                first = (self.warm and self.warm.first_failure) or (
                    self.bare and self.bare.first_failure)
                what += f", {self.warm_failures()} failed calls ({first})"
            found.append(f"{self.name}: warm p50 {what} > {WARM_BUDGET}x bare pg8000")
        if self.round_trips_pass() is False:
            assert self.warm is not None
            found.append(f"{self.name}: SQL round trips not fixed "
                         f"({self.warm.round_trips_text()}, capture {self.capture_round_trips})")
        found.extend(f"{self.name}: {e}" for e in self.errors)
        return found


def _ms(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


def cold_cells(cold: ColdResult | None) -> list[str]:
    """A cold start's columns: total, import, first call, process wall, cpu, modules."""
    if cold is None or not cold.good:
        return ["-"] * 6
    return [
        _ms(cold.median_ms("total_s")),
        _ms(cold.median_ms("import_s")),
        _ms(cold.median_ms("invoke_s")),
        _ms(cold.median_ms("wall_s"), 0),
        _ms(cold.median_ms("cpu_s")),
        str(cold.modules),
    ]


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _verdict(value: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[value]


def _cold_note(r: FunctionResult, hello: FunctionResult) -> str:
    notes = []
    without = r.cold_ratio_without_bcrypt(hello)
    if without is not None:
        notes.append(f"{without:.2f}x without its ~{r.bcrypt_ms:.0f} ms of bcrypt")
    if r.cold and r.cold.failures:
        notes.append(f"{r.cold.failures} failed runs: {r.cold.problem}")
    return "; ".join(notes)


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(header), rule, *(line(r) for r in rows)]


def render(results: list[FunctionResult], hello: FunctionResult, meta: dict[str, Any],
           extra_lines: Sequence[str] = (), extra_failures: Sequence[str] = ()) -> list[str]:
    """The whole report; `extra_lines` (the events section) come before the verdict line,
    and `extra_failures` (its budget failures) are listed in it."""
    lines = [
        f"Inkwell benchmark -- {meta['when']} -- git {meta['git']} -- python {meta['python']}"
        f" -- {meta['cpus']} CPUs",
        f"PostgreSQL: {meta['database']}; bcrypt cost {meta['bcrypt_rounds']}"
        f" (one hash {meta['bcrypt_hash_ms']:.0f} ms, one check {meta['bcrypt_check_ms']:.0f} ms)",
        f"Load average (1 min) at start / end: {meta['load_average'][0]:.2f} /"
        f" {meta['load_average'][1]:.2f} on {meta['cpus']} CPUs; hello-world cold wall/CPU"
        f" {meta['hello_wall_per_cpu']:.2f}"
        + (" -- other processes competed for the CPU: cold starts are noisy, re-run on a"
           " quiet machine" if meta["hello_wall_per_cpu"] > BUSY_WALL_PER_CPU else ""),
        "Events: the two tables below run with no event bus (INKWELL_EVENT_BUS_NAME unset), so"
        " writes leave their events in the outbox for the relay; publishing (PutEvents to"
        " moto), the relay and the consumers are measured in the events section after them."
        if meta.get("event_bus") else
        "Events: no event bus is configured (INKWELL_EVENT_BUS_NAME unset), so writes leave"
        " their events in the outbox for the relay; the post-commit PutEvents call is not"
        " measured in this run (--only).",
        "",
        f"Cold start: fresh python process, import + first invocation (perf_counter inside the"
        f" child), median of {meta['cold_runs']} runs, bytecode cached; 'process' = whole"
        " process wall time; 'cpu' = CPU time of the child over the same span (a cross-check"
        " when the machine is busy).",
        f"'layer' = the same, but only the Lambda layer's third-party packages importable"
        f" (median of {meta['layer_runs']}; refused here: "
        f"{', '.join(meta['blocked_in_layer_runs']) or 'none'}), with its ratio to hello.",
        f"'no .pyc' = the same with no .pyc outside the stdlib (median of {meta['nopyc_runs']}):"
        " the cost of shipping sources only (the CDK layer ships compiled bytecode; the"
        " functions' own small packages are compiled on first import).",
        f"Budget: HTTP functions <= {COLD_BUDGET}x the FastAPI+Mangum hello-world, authorizer"
        f" <= {AUTHORIZER_COLD_BUDGET}x.",
    ]
    header = ["function", "cold ms", "import", "1st call", "process", "cpu ms", "modules",
              "x hello", "budget", "", "layer", "x hello", "no .pyc", "notes"]
    rows: list[list[str]] = []
    for r in [hello, *results]:
        cold = r.cold
        rows.append([
            r.name,
            *cold_cells(cold),
            "1.00x" if r is hello else _ratio(r.cold_ratio(hello)),
            "" if r.cold_budget() is None else f"<={r.cold_budget()}x",
            "" if r is hello else _verdict(r.cold_pass(hello)),
            _ms(r.cold_layer.median_ms("total_s"))
            if r.cold_layer and r.cold_layer.good else "-",
            _ratio(r.cold_layer_ratio(hello)),
            _ms(r.cold_source.median_ms("total_s"), 0)
            if r.cold_source and r.cold_source.good else "-",
            _cold_note(r, hello),
        ])
    lines += ["", *_table(header, rows, right={1, 2, 3, 4, 5, 6, 7, 10, 11, 12})]

    lines += [
        "",
        f"Warm: in-process invocations with fresh valid input each, p50/p99 in ms over n calls"
        f" (nearest rank; n={meta['warm_calls']}, bcrypt routes n={meta['bcrypt_calls']}).",
        "bare = a handler with no framework doing the same SQL with raw pg8000 (named prepared"
        " statements, one reused connection, same BEGIN/COMMIT) and the same bcrypt/hash/JWT"
        " work.",
        f"Budget: warm p50 <= {WARM_BUDGET}x bare p50; SQL round trips per request fixed"
        " (Database.round_trips delta, every call).",
    ]
    header = ["function", "p50", "p99", "n", "bare p50", "bare p99", "x bare", "budget",
              "RT/req", "bare RT", "fixed", "SQL (stmts, tx)", "notes"]
    rows = []
    for r in [hello, *results]:
        warm, bare = r.warm, r.bare
        rows.append([
            r.name,
            _ms(warm.p50_ms, 2) if warm and warm.n else "-",
            _ms(warm.p99_ms, 2) if warm and warm.n else "-",
            str(warm.n) if warm else "-",
            _ms(bare.p50_ms, 2) if bare and bare.n else "-",
            _ms(bare.p99_ms, 2) if bare and bare.n else "-",
            _ratio(r.warm_ratio()),
            "" if r is hello else _verdict(r.warm_pass()),
            warm.round_trips_text() if warm and r is not hello else "-",
            bare.round_trips_text() if bare else "-",
            "" if r is hello else _verdict(r.round_trips_pass()),
            "-" if not r.statements
            else f"{r.statements}{' +BEGIN/COMMIT' if r.transactional else ''}",
            "; ".join(r.notes),
        ])
    lines += ["", *_table(header, rows, right={1, 2, 3, 4, 5, 6, 8, 9})]

    lines += extra_lines
    failures = [f for r in results for f in r.budget_failures(hello)] + list(extra_failures)
    lines.append("")
    if failures:
        lines.append(f"BUDGET FAILURES ({len(failures)}): " + " | ".join(failures))
    else:
        lines.append("All budgets PASS.")
    return lines


def _samples_json(s: Samples | None) -> dict[str, Any] | None:
    if s is None or not s.n:
        return None
    return {"p50_ms": round(s.p50_ms, 3), "p99_ms": round(s.p99_ms, 3), "n": s.n,
            "failures": s.failures, "round_trips": sorted(set(s.round_trips))}


def _cold_json(c: ColdResult | None) -> dict[str, Any] | None:
    if c is None or not c.good:
        return None if c is None else {"failures": c.failures, "problem": c.problem}
    return {
        "median_ms": round(c.median_ms("total_s"), 1),
        "min_ms": round(min(r.total_s for r in c.good) * 1000, 1),
        "runs_ms": [round(r.total_s * 1000, 1) for r in c.good],
        "cpu_ms": round(c.median_ms("cpu_s"), 1),
        "import_ms": round(c.median_ms("import_s"), 1),
        "first_invoke_ms": round(c.median_ms("invoke_s"), 1),
        "process_wall_ms": round(c.median_ms("wall_s"), 1),
        "runs": len(c.good),
        "failures": c.failures,
        "modules": c.modules,
    }


def write_json(path: Path, results: list[FunctionResult], hello: FunctionResult,
               meta: dict[str, Any], events: dict[str, Any] | None = None,
               content_scale: dict[str, Any] | None = None,
               comments_scale: dict[str, Any] | None = None) -> None:
    def one(r: FunctionResult) -> dict[str, Any]:
        return {
            "name": r.name,
            "kind": r.kind,
            "cold": _cold_json(r.cold),
            "cold_without_pyc": _cold_json(r.cold_source),
            "cold_layer_only": _cold_json(r.cold_layer),
            "cold_layer_only_x_hello": None if r.cold_layer_ratio(hello) is None
            else round(r.cold_layer_ratio(hello) or 0, 3),
            "warm": _samples_json(r.warm),
            "bare": _samples_json(r.bare),
            "cold_x_hello": None if r.cold_ratio(hello) is None
            else round(r.cold_ratio(hello) or 0, 3),
            "cold_cpu_x_hello": None if r.cold_cpu_ratio(hello) is None
            else round(r.cold_cpu_ratio(hello) or 0, 3),
            "cold_x_hello_without_bcrypt": None if r.cold_ratio_without_bcrypt(hello) is None
            else round(r.cold_ratio_without_bcrypt(hello) or 0, 3),
            "warm_x_bare": None if r.warm_ratio() is None else round(r.warm_ratio() or 0, 3),
            "statements": r.statements,
            "sql": r.sql,
            "transaction": r.transactional,
            "budgets": {
                "cold": _verdict(r.cold_pass(hello)),
                "warm": _verdict(r.warm_pass()),
                "round_trips_fixed": _verdict(r.round_trips_pass()),
            },
            "errors": r.errors,
        }

    failures = [f for r in results for f in r.budget_failures(hello)]
    if events is not None:
        failures += events.get("failures", [])
    if content_scale is not None:
        failures += content_scale.get("failures", [])
    if comments_scale is not None:
        failures += comments_scale.get("failures", [])
    document = {
        "meta": meta,
        "budgets": {"cold_x_hello": COLD_BUDGET, "authorizer_cold_x_hello":
                    AUTHORIZER_COLD_BUDGET, "warm_x_bare": WARM_BUDGET},
        "hello_world": one(hello),
        "functions": [one(r) for r in results],
        "events": events,
        "content_scale": content_scale,
        "comments_scale": comments_scale,
        "failures": failures,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")

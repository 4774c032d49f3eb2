"""Runs the chosen sections and prints their tables (Markdown, as docs/performance.md)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import bcrypt

from bench import aws, cold, warm
from bench.results import Results
from bench.targets import Target
from bench.world import World

# Cold-start budgets on the AWS path, as a multiple of the hello world's.
BUDGETS = {"http": 1.2, "authorizer": 0.3, "consumer": 0.5}
HELLO = "hello-world"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def bcrypt_ms(runs: int = 3) -> float:
    """One bcrypt hash at the production cost (12), median of `runs`."""
    from inkwell.settings import settings

    salt = bcrypt.gensalt(settings().bcrypt_rounds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        bcrypt.hashpw(b"correct horse battery staple", salt)
        times.append(time.perf_counter() - start)
    return sorted(times)[runs // 2] * 1000


class Report:
    def __init__(self, opts: argparse.Namespace, say: Callable[[str], None]) -> None:
        self.opts, self.say = opts, say
        self.results = Results("aws" if "aws" in opts.only else "local")
        self.failures: list[str] = []
        self.over_budget: list[str] = []
        self.facts = self.results.facts

    def out(self, *lines: str) -> None:
        for line in lines:
            self.say(line)

    def failed(self, section: str, name: str, problem: str | None) -> None:
        if problem:
            self.failures.append(f"{section} {name}: {problem}")

    # --- sections ---------------------------------------------------------------------
    def run(self, targets: list[Target], urls: dict[str, str], base: dict[str, str]) -> None:
        only = self.opts.only
        self.facts["bcrypt_hash_ms"] = bcrypt_ms()
        if "aws" in only and aws.env.JWT_PRIVATE_KEYS not in base:
            base.update(aws.local_keys_environment())  # sign the scenarios' tokens with it
            aws.in_environment(base)
        world = World(urls)
        try:
            if "cold" in only:
                self.cold_section(targets, world, base, "cold")
            if "aws" in only:
                self.aws_section(targets, world, urls, base)
            if "warm" in only:
                self.warm_section(targets, world)
            if "content" in only or "comments" in only:
                from bench import scale

                for section in ("content", "comments"):
                    if section in only:
                        self.failures += scale.run(
                            section, world, self.results, self.opts, self.out, self.say
                        )
            if "events" in only:
                from bench import events

                self.failures += events.run(
                    world, self.results, self.opts, self.out, self.say, self.opts.moto_port + 1
                )
        finally:
            world.close()

    def cold_section(
        self,
        targets: Sequence[Target],
        world: World,
        env: dict[str, str],
        label: str,
        title: str | None = None,
    ) -> None:
        """Benchmarks named ``<label>/<function>``: ``aws/...`` whatever the AWS path (the
        suite's file and metadata say which), so pyperf compare_to pairs the two paths."""
        outcomes = cold.measure(
            targets,
            world,
            env,
            self.results,
            label=label,
            runs=self.opts.cold_runs,
            warmup=self.opts.cold_warmup,
            say=self.say,
        )
        hello = self.results.ms(f"{label}/{HELLO}")
        hello_bench = self.results.get(f"{label}/{HELLO}")
        hello_cpu = hello_bench.get_metadata()["cpu_ms"] if hello_bench else None
        budgeted = label != "cold"
        if budgeted:  # the bcrypt work subtracted below, measured under the same load
            self.facts["bcrypt_hash_ms"] = bcrypt_ms()
        self.out(
            "",
            f"### Cold starts ({title or label}): median of {self.opts.cold_runs} fresh "
            f"interpreters, hello world {_ms(hello)} ms ({_ms(hello_cpu)} ms CPU)",
            "",
            "| function | cold ms | x hello | CPU ms | CPU x hello | import ms | modules |"
            + (" budget |" if budgeted else ""),
            "|---|---|---|---|---|---|---|" + ("---|" if budgeted else ""),
        )
        for target in targets:
            self.failed(label, target.name, outcomes[target.name].failure)
            bench = self.results.get(f"{label}/{target.name}")
            if bench is None or hello is None:
                self.out(f"| {target.name} | failed: {outcomes[target.name].failure} |")
                continue
            ms = bench.median() * 1000
            meta = bench.get_metadata()
            row = (
                f"| {target.name} | {_ms(ms)} | {ms / hello:.2f}x | {_ms(meta['cpu_ms'])} | "
                f"{meta['cpu_ms'] / hello_cpu:.2f}x | {meta['import_ms']} | "
                f"{meta['modules']} |"
            )
            if budgeted:
                row += f" {self.budget_cell(target, ms, hello)} |"
            self.out(row)

    def budget_cell(self, target: Target, ms: float, hello: float) -> str:
        limit = BUDGETS.get(target.kind)
        if limit is None:
            return ""
        cell = f"<= {limit}x: {'pass' if ms / hello <= limit else 'over'}"
        if target.bcrypt:
            without = ms - target.bcrypt * float(self.facts["bcrypt_hash_ms"])
            ok = without / hello <= limit
            cell += f"; {without / hello:.2f}x without bcrypt ({'pass' if ok else 'over'})"
            if not ok:
                self.over_budget.append(target.name)
        elif ms / hello > limit:
            self.over_budget.append(target.name)
        return cell

    def aws_section(
        self, targets: Sequence[Target], world: World, urls: dict[str, str], base: dict[str, str]
    ) -> None:
        moto = aws.MotoServer(self.opts.moto_port)
        try:
            env = aws.aws_environment(base, urls, moto, aws.app_users(urls))
            self.cold_section(targets, world, env, "aws", "AWS-shaped")
        finally:
            moto.stop()

    def warm_section(self, targets: Sequence[Target], world: World) -> None:
        o = self.opts
        outcomes = warm.measure(
            targets,
            world,
            self.results,
            calls=o.warm_calls,
            bcrypt_calls=o.bcrypt_calls,
            warmup=o.warmup,
            count=o.count_calls,
            say=self.say,
        )
        self.out(
            "",
            f"### Warm latency in process ({o.warm_calls} calls, {o.bcrypt_calls} "
            "with bcrypt) and SQL round trips per request",
            "",
            "| function | p50 ms | p99 ms | round trips |",
            "|---|---|---|---|",
        )
        for target in targets:
            outcome = outcomes[target.name]
            self.failed("warm", target.name, outcome.failure)
            name = f"warm/{target.name}"
            self.facts.setdefault("round_trips", {})[target.name] = outcome.round_trips
            self.out(
                f"| {target.name} | {_ms(self.results.ms(name))} | "
                f"{_ms(self.results.ms(name, 99))} | {outcome.round_trips_text()} |"
            )

    def finish(self) -> str:
        load = os.getloadavg()
        self.facts.update(
            failures=self.failures, over_budget=self.over_budget, load_average_1_5_15=list(load)
        )
        path = self.results.write()
        summary: list[Any] = [
            f"\nrevision {self.facts['revision']}, {self.facts['cpus']} CPUs, load average "
            f"{self.facts['load_average_start']:.2f} at start, {load[0]:.2f} at end; "
            f"bcrypt hash {self.facts['bcrypt_hash_ms']:.0f} ms; results: {path}",
        ]
        if self.over_budget:
            summary.append("over budget: " + ", ".join(self.over_budget))
        summary.append(
            "FAILED:\n  " + "\n  ".join(self.failures) if self.failures else "every call succeeded"
        )
        return "\n".join(summary)

"""The benchmark's helpers (`make bench` itself is a benchmark, not a test)."""

from __future__ import annotations

from pathlib import Path

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

"""uv.lock is what both the virtual environment and the Lambda layer are built from."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.cdk.inkwell_infra.layer import (
    RUNTIME_CONSTRAINTS,
    check_runtime_constraints,
    layer_requirements,
)
from infra.cdk.inkwell_infra.lockfile import (
    LockedPackage,
    host_environment,
    lambda_environment,
    locked_closure,
    read_lock,
)
from infra.cdk.inkwell_infra.paths import PYPROJECT, REPO_ROOT
from infra.cdk.inkwell_infra.runtime import ARCHITECTURES, RUNTIMES, LambdaPlatform

PLATFORMS = [LambdaPlatform(r, a) for r in sorted(RUNTIMES) for a in sorted(ARCHITECTURES)]
UV = Path(sys.executable).with_name("uv")


def pins(lines: list[str]) -> dict[str, str]:
    """``{name: version}`` of ``name==version ...`` requirement lines."""
    found: dict[str, str] = {}
    for line in lines:
        match = re.match(r"([A-Za-z0-9_.-]+)==([^ ;]+)", line)
        assert match, f"not pinned: {line!r}"
        found[canonicalize_name(match[1])] = match[2]
    return found


def uv_export_runtime(environment: dict[str, str]) -> dict[str, str]:
    """What uv itself says the runtime dependencies are, its markers evaluated for
    ``environment``: an implementation independent of ``lockfile.py``."""
    out = subprocess.run(
        [
            str(UV),
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--format",
            "requirements.txt",
            "--offline",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wanted: dict[str, str] = {}
    for line in out.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            (version,) = (spec.version for spec in requirement.specifier)
            wanted[canonicalize_name(requirement.name)] = version
    return wanted


@pytest.mark.parametrize(
    "platform", PLATFORMS, ids=lambda p: f"{p.runtime_name}-{p.architecture_name}"
)
def test_the_layer_installs_exactly_the_locked_runtime_dependencies(
    platform: LambdaPlatform,
) -> None:
    requirements = layer_requirements(platform)
    environment = lambda_environment(platform.python_version, platform.architecture_name)
    assert pins(requirements) == uv_export_runtime(environment)
    # every file pip may pick is checked against the lock's hash
    locked = locked_closure(environment)
    for line in requirements:
        name = canonicalize_name(line.split("==")[0])
        hashes = re.findall(r"--hash=(\S+)", line)
        assert hashes and set(hashes) == set(locked[name].hashes), name


def test_the_layer_ships_every_declared_dependency_at_its_pinned_version() -> None:
    with PYPROJECT.open("rb") as fh:
        declared = [Requirement(d) for d in tomllib.load(fh)["project"]["dependencies"]]
    shipped = pins(layer_requirements(LambdaPlatform("python3.13", "arm64")))
    assert declared
    for requirement in declared:
        assert shipped[canonicalize_name(requirement.name)] in requirement.specifier, requirement
    assert "boto3" not in shipped  # the runtime provides it; only the dev extra has it


def test_the_virtual_environment_has_the_locked_versions() -> None:
    locked = locked_closure(host_environment(), extras=["dev"])
    assert {"pytest", "aws-cdk-lib", "fastapi", "pg8000"} <= set(locked)
    installed = {name: metadata.version(name) for name in locked}
    assert installed == {name: package.version for name, package in locked.items()}


def test_markers_are_evaluated_for_the_lambda_platform_not_the_build_machine() -> None:
    lock = {
        "package": [
            {
                "name": "app",
                "version": "0",
                "source": {"virtual": "."},
                "dependencies": [
                    {"name": "only-arm", "marker": "platform_machine == 'aarch64'"},
                    {"name": "old-python", "marker": "python_full_version < '3.12'"},
                    {"name": "forked", "version": "2", "marker": "python_full_version >= '3.12'"},
                    {"name": "forked", "version": "1", "marker": "python_full_version < '3.12'"},
                ],
            },
            {"name": "only-arm", "version": "1.0", "wheels": [{"hash": "sha256:a"}]},
            {"name": "old-python", "version": "1.0", "sdist": {"hash": "sha256:b"}},
            {"name": "forked", "version": "1", "dependencies": [{"name": "six"}]},
            {"name": "forked", "version": "2"},
            {"name": "six", "version": "1.17.0"},
        ]
    }
    arm313 = locked_closure(lambda_environment("3.13", "arm64"), lock=lock)
    assert {n: p.version for n, p in arm313.items()} == {"forked": "2", "only-arm": "1.0"}
    assert arm313["only-arm"].requirement == "only-arm==1.0 --hash=sha256:a"
    x86_311 = locked_closure(lambda_environment("3.11", "x86_64"), lock=lock)
    assert {n: p.version for n, p in x86_311.items()} == {
        "forked": "1",
        "old-python": "1.0",
        "six": "1.17.0",
    }
    assert Marker("platform_machine == 'aarch64'").evaluate(lambda_environment("3.13", "arm64"))


def test_a_locked_version_the_runtime_cannot_take_stops_the_build() -> None:
    assert "python-dateutil" in RUNTIME_CONSTRAINTS
    check_runtime_constraints([LockedPackage("python-dateutil", "2.9.0.post0", ())])
    with pytest.raises(ValueError, match=r"python-dateutil 3\.0\.0"):
        check_runtime_constraints([LockedPackage("python-dateutil", "3.0.0", ())])


def test_the_lock_is_universal() -> None:
    assert read_lock()["requires-python"] == ">=3.11"

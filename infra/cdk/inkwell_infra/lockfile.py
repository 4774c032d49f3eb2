"""What ``uv.lock`` pins: the one list both the virtual environment and the layer come from.

``uv lock`` resolves ``pyproject.toml`` once for every platform and Python version (a
universal lock). The layer ships the closure of ``[project].dependencies`` in that lock,
with each dependency's markers evaluated for the Lambda platform (not for the machine that
runs ``cdk synth``), every version pinned and every file's hash checked by pip. The lock is
TOML, read here with the standard library: synth needs no uv binary and no network to know
what the layer holds.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import Marker, default_environment

from infra.cdk.inkwell_infra.paths import UV_LOCK

# The Lambda runtimes run CPython on Amazon Linux; the CPU per architecture setting.
LAMBDA_MACHINES: dict[str, str] = {"arm64": "aarch64", "x86_64": "x86_64"}


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    hashes: tuple[str, ...]  # of every wheel and the sdist the lock records

    @property
    def requirement(self) -> str:
        """A pip requirement line that installs exactly this file set."""
        return " ".join((f"{self.name}=={self.version}", *(f"--hash={h}" for h in self.hashes)))


def read_lock(path: Path = UV_LOCK) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def host_environment() -> dict[str, str]:
    """The marker environment of the interpreter running this (the virtual environment's)."""
    return {name: str(value) for name, value in default_environment().items()}


def lambda_environment(python_version: str, architecture: str) -> dict[str, str]:
    """The marker environment of a Lambda Python runtime (``3.13``, ``arm64``)."""
    env = host_environment()
    env.update(
        python_version=python_version,
        python_full_version=f"{python_version}.0",
        implementation_version=f"{python_version}.0",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        platform_machine=LAMBDA_MACHINES[architecture],
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
    )
    return env


def _applies(entry: Mapping[str, Any], environment: Mapping[str, str]) -> bool:
    marker = entry.get("marker")
    return marker is None or Marker(marker).evaluate({**environment, "extra": ""})


def locked_closure(
    environment: Mapping[str, str],
    extras: Sequence[str] = (),
    lock: Mapping[str, Any] | None = None,
) -> dict[str, LockedPackage]:
    """Every package the project needs in ``environment`` (with its ``extras``), by name."""
    lock = read_lock() if lock is None else lock
    packages: list[dict[str, Any]] = lock["package"]
    root = next(p for p in packages if p.get("source", {}).get("virtual") == ".")

    def find(dep: Mapping[str, Any]) -> dict[str, Any]:
        # A name appears more than once only when the lock forks by Python version; the
        # dependency then names the version.
        return next(
            p
            for p in packages
            if p["name"] == dep["name"] and dep.get("version", p["version"]) == p["version"]
        )

    found: dict[str, LockedPackage] = {}
    seen: set[tuple[str, str, str]] = set()

    def visit(deps: Iterable[Mapping[str, Any]]) -> None:
        for dep in deps:
            if not _applies(dep, environment):
                continue
            package = find(dep)
            for extra in ("", *dep.get("extra", ())):
                key = (package["name"], package["version"], extra)
                if key in seen:
                    continue
                seen.add(key)
                if extra:
                    visit(package.get("optional-dependencies", {}).get(extra, ()))
                    continue
                files = [*package.get("wheels", ()), package.get("sdist") or {}]
                found[package["name"]] = LockedPackage(
                    package["name"],
                    package["version"],
                    tuple(f["hash"] for f in files if "hash" in f),
                )
                visit(package.get("dependencies", ()))

    visit(root.get("dependencies", ()))
    for extra in extras:
        visit(root.get("optional-dependencies", {})[extra])
    return dict(sorted(found.items()))


def layer_packages(
    python_version: str, architecture: str, lock: Mapping[str, Any] | None = None
) -> list[LockedPackage]:
    """The runtime dependencies (``[project].dependencies`` and what they pull in) the lock
    pins for a Lambda runtime and architecture."""
    return list(locked_closure(lambda_environment(python_version, architecture), (), lock).values())

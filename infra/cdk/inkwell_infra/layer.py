"""The shared Lambda layer: ``layers/shared/python`` plus the runtime dependencies, and the
Amazon RDS CA bundle (``rds_ca``: ``/opt/certs/rds-ca-bundle.pem`` on Lambda).

The dependencies are the runtime closure ``uv.lock`` pins for the configured runtime and
architecture (``lockfile.layer_packages``: ``[project].dependencies`` of ``pyproject.toml``
and what they pull in, each version and file hash fixed), installed with pip for the Lambda
platform (Linux, the configured architecture and runtime's CPython version, binary wheels
only, ``--no-deps --require-hashes``: pip resolves nothing), then compiled to bytecode by an
interpreter of exactly the runtime's version (``runtime.build_interpreter``), so bundling
runs locally: no Docker, ever. The asset hash is computed up front from the pinned
requirements, the pip target platform and the contents of ``layers/shared/python``, so a
re-synth with nothing changed reuses the staged asset in ``cdk.out`` instead of running pip
again.

With ``aws:cdk:bundling-stacks`` set to ``[]`` (the infra tests) CDK skips bundling and
the layer asset is a placeholder.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from packaging.specifiers import SpecifierSet

from infra.cdk.inkwell_infra import rds_ca
from infra.cdk.inkwell_infra.lockfile import LockedPackage, layer_packages
from infra.cdk.inkwell_infra.paths import LAYER_DIR, LAYER_PYTHON_DIR
from infra.cdk.inkwell_infra.runtime import LambdaPlatform, build_interpreter

# Where the layer is mounted on Lambda: the path compiled into the bytecode's tracebacks.
LAYER_MOUNT = "/opt/python"

# The layer is on sys.path before the runtime's own boto3/botocore (/var/runtime), so a
# transitive dependency we ship shadows the runtime's copy. Keep those within what the
# runtime's botocore accepts (pg8000 pulls in python-dateutil; botocore needs <3).
RUNTIME_CONSTRAINTS: dict[str, SpecifierSet] = {"python-dateutil": SpecifierSet("<3")}

_IGNORED_NAMES = ("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")


def layer_requirements(platform: LambdaPlatform) -> list[str]:
    """The pip requirement lines of the layer: what ``uv.lock`` pins for ``platform``,
    checked against the runtime's constraints."""
    packages = layer_packages(platform.python_version, platform.architecture_name)
    check_runtime_constraints(packages)
    return [package.requirement for package in packages]


def check_runtime_constraints(packages: Iterable[LockedPackage]) -> None:
    for package in packages:
        allowed = RUNTIME_CONSTRAINTS.get(package.name)
        if allowed is not None and package.version not in allowed:
            raise ValueError(
                f"uv.lock pins {package.name} {package.version}, but the Lambda runtime's"
                f" botocore needs {package.name}{allowed}: constrain it in pyproject.toml"
                " and run `uv lock` again"
            )


def _source_files(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in {"__pycache__", ".mypy_cache", ".pytest_cache"} for part in rel.parts):
            continue
        if path.is_file() and path.suffix not in {".pyc", ".pyo"}:
            yield path


def layer_asset_hash(
    dependencies: Sequence[str],
    platform: LambdaPlatform,
    source_dir: Path = LAYER_PYTHON_DIR,
) -> str:
    """Hash of everything that determines the bundled layer's content."""
    digest = hashlib.sha256()
    for part in (*platform.pip_args, *dependencies, "bytecode"):
        digest.update(b"pip\0" + part.encode() + b"\0")
    digest.update(b"rds-ca\0" + rds_ca.locked_version().encode() + b"\0")
    if source_dir.is_dir():
        for path in _source_files(source_dir):
            digest.update(b"file\0" + path.relative_to(source_dir).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def compile_bytecode(directory: Path, mounted_at: str, interpreter: str) -> None:
    """Compile every module with ``interpreter`` (exactly the runtime's version).
    Hash-based, unchecked .pyc files stay valid whatever timestamps the deployment package
    gives the sources."""
    command = [
        interpreter,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "-d",
        mounted_at,
        "--invalidation-mode",
        "unchecked-hash",
        str(directory),
    ]
    if subprocess.run(command, check=False).returncode != 0:  # noqa: S603 - fixed argv
        raise RuntimeError(f"{interpreter} could not compile the modules in {directory}")


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Builds the layer in ``<output_dir>/python`` with the local Python and pip."""

    def __init__(
        self,
        source_dir: Path,
        dependencies: Sequence[str],
        platform: LambdaPlatform,
        rds_ca_source: Path = rds_ca.SOURCE,
    ) -> None:
        self.source_dir = source_dir
        self.dependencies = list(dependencies)
        self.platform = platform
        self.rds_ca_source = rds_ca_source

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        # ``image`` is the unused Docker fallback; a keyword-only parameter is needed so
        # jsii passes the bundling options as keywords.
        interpreter = build_interpreter(self.platform)  # fails first, with what to do
        print(
            f"inkwell layer: {self.platform.runtime_name} {self.platform.architecture_name},"
            f" bytecode compiled by {interpreter}",
            file=sys.stderr,
        )
        # The RDS CAs first: a missing npm install fails before pip's minutes.
        rds_ca.write_bundle(Path(output_dir) / rds_ca.LAYER_RELATIVE_PATH, self.rds_ca_source)
        target = Path(output_dir) / "python"
        if self.source_dir.is_dir():
            shutil.copytree(
                self.source_dir,
                target,
                ignore=shutil.ignore_patterns(*_IGNORED_NAMES),
                dirs_exist_ok=True,
            )
        target.mkdir(parents=True, exist_ok=True)
        if self.dependencies:
            self._pip_install(target)
        # Console scripts are useless in a layer (and not executable for the platform).
        shutil.rmtree(target / "bin", ignore_errors=True)
        compile_bytecode(target, LAYER_MOUNT, interpreter)
        return True

    def _pip_install(self, target: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text("".join(f"{r}\n" for r in self.dependencies))
            command = [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",  # compiled afterwards, once, with paths as seen on Lambda
                "--target",
                str(target),
                *self.platform.pip_args,
                "--upgrade",
                # The lock already holds the whole closure: pip installs it as listed.
                "--no-deps",
                "--require-hashes",
                "--requirement",
                str(requirements),
            ]
            subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell


class DependencyLayer(Construct):
    """The layer every function gets: shared code + third-party dependencies."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        platform: LambdaPlatform,
    ) -> None:
        super().__init__(scope, construct_id)
        dependencies = layer_requirements(platform)
        self.dependencies = dependencies
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            layer_version_name=f"{name_prefix}-shared",
            description="Inkwell shared code and runtime dependencies (uv.lock)",
            code=lambda_.Code.from_asset(
                str(LAYER_DIR),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=layer_asset_hash(dependencies, platform),
                bundling=BundlingOptions(
                    image=DockerImage.from_registry("unused"),
                    local=PipLayerBundling(LAYER_PYTHON_DIR, dependencies, platform),
                    command=["false"],  # never reached: local bundling always succeeds
                ),
            ),
            compatible_runtimes=[platform.runtime],
            compatible_architectures=[platform.architecture],
        )

"""The Lambda runtime and architecture: explicit settings, and the interpreter that builds for
them.

``lambdaRuntime`` (default ``python3.13``) and ``lambdaArchitecture`` (default ``arm64``)
are CDK context settings; nothing depends on the Python that happens to run ``cdk synth``.
The layer ships compiled bytecode (Lambda's file system is read-only, so without it every
cold start compiles the layer again), and bytecode is specific to one CPython minor
version: it is compiled by an interpreter of exactly the runtime's version, found by
``build_interpreter``. When none is available, the build stops and says what to install
or which setting to change; it never compiles with another version.

Runtime support dates: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
(the deploy guide lists them for the supported runtimes).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

from inkwell import env

# The Lambda Python runtimes this app can build for (aws-cdk-lib 2.275 knows them all).
RUNTIMES: dict[str, lambda_.Runtime] = {
    "python3.11": lambda_.Runtime.PYTHON_3_11,
    "python3.12": lambda_.Runtime.PYTHON_3_12,
    "python3.13": lambda_.Runtime.PYTHON_3_13,
    "python3.14": lambda_.Runtime.PYTHON_3_14,
}
ARCHITECTURES: dict[str, lambda_.Architecture] = {
    "arm64": lambda_.Architecture.ARM_64,
    "x86_64": lambda_.Architecture.X86_64,
}
# The manylinux platform pip resolves wheels for, per architecture (Amazon Linux 2023).
PIP_PLATFORMS: dict[str, str] = {
    "arm64": "manylinux2014_aarch64",
    "x86_64": "manylinux2014_x86_64",
}
# Names an explicit interpreter for the layer build (for machines where none of the
# usual places has it).
BUILD_PYTHON_ENV = env.BUILD_PYTHON


@dataclass(frozen=True)
class LambdaPlatform:
    """What every function runs on: ``python3.13`` on ``arm64``."""

    runtime_name: str
    architecture_name: str

    def __post_init__(self) -> None:
        if self.runtime_name not in RUNTIMES:
            raise ValueError(
                f"lambdaRuntime must be one of {sorted(RUNTIMES)}, not {self.runtime_name!r}"
            )
        if self.architecture_name not in ARCHITECTURES:
            raise ValueError(
                f"lambdaArchitecture must be one of {sorted(ARCHITECTURES)}, "
                f"not {self.architecture_name!r}"
            )

    @property
    def runtime(self) -> lambda_.Runtime:
        return RUNTIMES[self.runtime_name]

    @property
    def architecture(self) -> lambda_.Architecture:
        return ARCHITECTURES[self.architecture_name]

    @property
    def python_version(self) -> str:
        """``python3.13`` -> ``3.13``."""
        return self.runtime_name.removeprefix("python")

    @property
    def pip_args(self) -> tuple[str, ...]:
        """Where pip resolves the layer's wheels for: this runtime's CPython, this CPU."""
        return (
            "--platform",
            PIP_PLATFORMS[self.architecture_name],
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
        )


def interpreter_version(executable: str) -> str | None:
    """``3.13`` for a working interpreter, None if it does not run (e.g. a pyenv shim
    for a version that is installed but not selected)."""
    try:
        result = subprocess.run(  # noqa: S603 - an interpreter path, fixed arguments
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = result.stdout.strip()
    return version if result.returncode == 0 and re.fullmatch(r"\d+\.\d+", version) else None


def _candidates(version: str) -> Iterable[str]:
    explicit = os.environ.get(BUILD_PYTHON_ENV)
    if explicit:
        yield explicit
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        yield sys.executable
    on_path = shutil.which(f"python{version}")
    if on_path:
        yield on_path
    uv = shutil.which("uv")
    if uv:
        try:
            found = subprocess.run(  # noqa: S603 - fixed arguments
                [uv, "python", "find", "--no-project", version],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            found = None
        if found is not None and found.returncode == 0 and found.stdout.strip():
            yield found.stdout.strip()
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    yield from sorted(
        glob.glob(f"{pyenv_root}/versions/{version}*/bin/python{version}"), reverse=True
    )
    yield f"/usr/bin/python{version}"
    yield f"/usr/local/bin/python{version}"


def build_interpreter(platform: LambdaPlatform) -> str:
    """An interpreter of exactly the runtime's Python version, or an error saying what to do.

    Looked for in order: ``$INKWELL_BUILD_PYTHON``, the Python running the CDK app,
    ``python3.X`` on PATH, ``uv python find 3.X``, pyenv's versions, /usr(/local)/bin.
    """
    version = platform.python_version
    for candidate in _candidates(version):
        if interpreter_version(candidate) == version:
            return candidate
    raise RuntimeError(
        f"lambdaRuntime={platform.runtime_name}: the layer's bytecode must be compiled by "
        f"Python {version}, and no Python {version} was found (looked at "
        f"${BUILD_PYTHON_ENV}, python{version} on PATH, `uv python find {version}`, pyenv). "
        f"Install it (e.g. `uv python install {version}`, `pyenv install {version}`, or your "
        f"distribution's python{version} package), point {BUILD_PYTHON_ENV} at it, or "
        f"deploy another runtime whose Python you have: -c lambdaRuntime=python"
        f"{sys.version_info[0]}.{sys.version_info[1]} (this machine's default Python)."
    )

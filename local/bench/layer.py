"""Which installed packages a Lambda function could not import on AWS.

The local venv holds the dev dependencies too, and some runtime packages import optional
extras when they find them. For example, PyJWT imports `cryptography`, which moto brings
here but the Lambda layer does not ship. `blocked_top_levels()` names every installed
top-level module that is in neither of two places:

- the layer: the closure of `[project].dependencies`, which is what infra/cdk bundles;
- the Lambda Python runtime, which provides boto3 and its dependencies.

A cold-start child told to block them (`INKWELL_BENCH_BLOCK_MODULES`) imports what it
would import on AWS.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

# Provided by the AWS Lambda Python runtime (/var/runtime), importable by every function.
LAMBDA_RUNTIME_TOP_LEVELS = frozenset({
    "boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3",
    "awslambdaric",
})


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~;( ]", requirement.strip(), maxsplit=1)[0]
                  ).lower()


def _top_levels(dist: metadata.Distribution) -> set[str]:
    listed = dist.read_text("top_level.txt")
    if listed:
        return set(listed.split())
    names = set()
    for file in dist.files or ():
        first = str(file).split("/", 1)[0]
        if first.endswith((".dist-info", ".data")) or first in ("..", "__pycache__"):
            continue
        names.add(first.split(".", 1)[0])
    return names


def layer_distributions(pyproject: Path) -> set[str]:
    """The distributions the layer ships: [project].dependencies and what they require."""
    with pyproject.open("rb") as f:
        wanted = [_name(r) for r in tomllib.load(f)["project"]["dependencies"]]
    found: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found.add(name)
        wanted.extend(_name(r) for r in dist.requires or () if "extra ==" not in r)
    return found


def blocked_top_levels(pyproject: Path) -> list[str]:
    allowed = set(LAMBDA_RUNTIME_TOP_LEVELS)
    for name in layer_distributions(pyproject):
        allowed |= _top_levels(metadata.distribution(name))
    installed: set[str] = set()
    for dist in metadata.distributions():
        installed |= _top_levels(dist)
    stdlib = set(sys.stdlib_module_names)
    return sorted(n for n in installed - allowed - stdlib if n.isidentifier())

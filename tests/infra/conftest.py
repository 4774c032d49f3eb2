"""Synthesizes the CDK app once per test session (per xdist worker: the infra modules are
in the ``cdk`` xdist group, so they all run on one worker).

Bundling is skipped the standard CDK way (``aws:cdk:bundling-stacks: []``): the dependency
layer is a placeholder asset and pip never runs; ``make synth`` does the real bundling.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.cdk.inkwell_infra import InkwellStack, create_app
from infra.cdk.inkwell_infra.paths import CDK_JSON


def pytest_configure(config: pytest.Config) -> None:
    # Registered by pytest-xdist, but these tests also run with `-p no:xdist` and the
    # project uses --strict-markers.
    config.addinivalue_line("markers", "xdist_group(name): run in one pytest-xdist worker")


def cdk_json_context(**overrides: Any) -> dict[str, Any]:
    """The context of cdk.json (feature flags included), with bundling skipped."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    context["aws:cdk:bundling-stacks"] = []
    context.update(overrides)
    return context


@dataclass(frozen=True)
class Synthesized:
    stack: InkwellStack
    template: Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    outdir: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def synthesize(outdir: Path, **context: Any) -> Synthesized:
    app, stack = create_app(cdk_json_context(**context), outdir=str(outdir))
    app.synth()
    template = Template.from_stack(stack)
    data = template.to_json()
    return Synthesized(
        stack=stack,
        template=template,
        resources=data["Resources"],
        outputs=data.get("Outputs", {}),
        outdir=outdir,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk-dev"))


# The second (and last) synth of the session: prod, with every optional setting given a
# non-default value, so one template covers both the prod defaults and the overrides.
PROD_CONTEXT: dict[str, Any] = {
    "stage": "prod",
    "alarmEmail": "oncall@inkwell.example",
    "eventArchiveRetentionDays": 90,
    "emailSender": "Inkwell <no-reply@inkwell.example>",
}


@pytest.fixture(scope="session")
def prod_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk-prod"), **PROD_CONTEXT)

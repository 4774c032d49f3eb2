"""Synthesizes the CDK app once per test session and context (per xdist worker: the infra
modules are in the ``cdk`` xdist group, so they all run on one worker), with cdk-nag on:
a finding neither fixed nor acknowledged fails the synth, and so every test.

Bundling is skipped the standard CDK way (``aws:cdk:bundling-stacks: []``): the dependency
layer is a placeholder asset and pip never runs; ``make synth`` does the real bundling.

``Synthesized.resources`` holds the resources of every template (the platform stack and
its nested stacks), by logical id: domain stacks prefix theirs with the domain, so ids do
not collide (CDK's per-stack trigger provider is the one exception, kept once per id).
A reference to another stack's resource is a nested-stack parameter in the template.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import NestedStack, Stack
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
    # Every template by stack (construct) path: "inkwell-dev", "inkwell-dev/Users", ...
    templates: dict[str, dict[str, Any]]

    @property
    def api_template(self) -> Template:
        return Template.from_stack(self.stack.api_stack)

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


class _Flattener:
    """Replaces each cross-stack reference by what it refers to: a nested stack's
    parameter by the value its parent passes, and a parent's ``Fn::GetAtt`` of a nested
    stack's output by that output's value. The tests then see one template, as if the
    app were one stack, and follow references by logical id."""

    def __init__(self, stack: InkwellStack) -> None:
        self.templates: dict[str, dict[str, Any]] = {}
        self.parent_of: dict[str, str] = {}
        self.stack_resource: dict[str, tuple[str, str]] = {}  # nested -> (parent, id)
        self.nested_by_id: dict[tuple[str, str], str] = {}
        self._add(stack, None)

    def _add(self, stack: Stack, parent: str | None) -> None:
        path = stack.node.path
        self.templates[path] = dict(Template.from_stack(stack).to_json())
        if parent is not None and isinstance(stack, NestedStack):
            resource = stack.nested_stack_resource
            assert resource is not None
            logical = str(Stack.of(resource).resolve(resource.logical_id))
            self.parent_of[path] = parent
            self.nested_by_id[(parent, logical)] = path
            self.stack_resource[path] = (parent, logical)
        for child in stack.node.find_all():
            if isinstance(child, NestedStack) and child.nested_stack_parent is stack:
                self._add(child, path)

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self.resolve(item, where) for item in value]
        if not isinstance(value, dict):
            return value
        template = self.templates[where]
        parameters = template.get("Parameters", {})
        if set(value) == {"Ref"} and value["Ref"] in parameters and where in self.parent_of:
            parent, logical = self.stack_resource[where]
            passed = self.templates[parent]["Resources"][logical]["Properties"]["Parameters"][
                value["Ref"]
            ]
            return self.resolve(passed, parent)
        if set(value) == {"Fn::GetAtt"}:
            target, attribute = value["Fn::GetAtt"][0], value["Fn::GetAtt"][1]
            nested = self.nested_by_id.get((where, target))
            if nested is not None and str(attribute).startswith("Outputs."):
                output = self.templates[nested]["Outputs"][str(attribute)[len("Outputs.") :]]
                return self.resolve(output["Value"], nested)
        return {key: self.resolve(item, where) for key, item in value.items()}


def synthesize(outdir: Path, **context: Any) -> Synthesized:
    app, stack = create_app(cdk_json_context(**context), outdir=str(outdir))
    app.synth()
    template = Template.from_stack(stack)
    data = template.to_json()
    flat = _Flattener(stack)
    resources: dict[str, dict[str, Any]] = {}
    for path, tpl in flat.templates.items():
        for logical_id, resource in tpl["Resources"].items():
            resources.setdefault(logical_id, flat.resolve(resource, path))
    return Synthesized(
        stack=stack,
        template=template,
        resources=resources,
        outputs=flat.resolve(data.get("Outputs", {}), stack.node.path),
        outdir=outdir,
        templates=flat.templates,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk-dev"))


# The second (and last) synth of the session: prod, with every optional setting given a
# non-default value, so one template covers both the prod defaults and the overrides.
PROD_CONTEXT: dict[str, Any] = {
    "stage": "prod",
    "alarmEmail": "oncall@inkwell.example",
    "corsOrigins": "https://blog.inkwell.example",
    "eventArchiveRetentionDays": 90,
    "emailSender": "Inkwell <no-reply@inkwell.example>",
    "passwordResetUrl": "https://blog.inkwell.example/reset-password",
    "passwordResetTtlMinutes": 20,
}


@pytest.fixture(scope="session")
def prod_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk-prod"), **PROD_CONTEXT)

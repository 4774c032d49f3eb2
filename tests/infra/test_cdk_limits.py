"""Every template stays well within the CloudFormation limits."""

from __future__ import annotations

import json

import pytest

import wiring
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.xdist_group("cdk")


# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_TEMPLATE_BYTES = 1_000_000  # uploaded to S3 by the CDK
# Physical name limits: Lambda function, Scheduler schedule and EventBridge rule 64, SQS 80.
MAX_NAME = {
    "AWS::Lambda::Function": ("FunctionName", 64),
    "AWS::Scheduler::Schedule": ("Name", 64),
    "AWS::Events::Rule": ("Name", 64),
    "AWS::SQS::Queue": ("QueueName", 80),
}


# Room to grow: every template at most 60 % of the limit.
MAX_TEMPLATE_RESOURCES = int(MAX_RESOURCES * 0.6)


def test_every_template_stays_well_within_cloudformation_limits(
    synth: Synthesized, prod_synth: Synthesized
) -> None:
    for synthesized in (synth, prod_synth):
        assert len(synthesized.templates) == len(wiring.DATABASE_DOMAINS) + 3
        for path, template in synthesized.templates.items():
            count = len(template["Resources"])
            assert count <= MAX_TEMPLATE_RESOURCES, (
                f"{path}: {count} resources, over 60 % of CloudFormation's {MAX_RESOURCES}"
            )
            assert len(template.get("Outputs", {})) <= MAX_OUTPUTS
            assert len(template.get("Parameters", {})) <= MAX_PARAMETERS
            assert len(json.dumps(template)) <= MAX_TEMPLATE_BYTES
    # prod has the longest name prefix
    for resource_type, (prop, limit) in MAX_NAME.items():
        names = [r["Properties"].get(prop) for r in prod_synth.of_type(resource_type).values()]
        literal = [name for name in names if isinstance(name, str)]
        assert literal, f"no {resource_type} with a literal {prop}"
        for name in literal:
            assert len(name) <= limit, f"{resource_type} name too long: {name}"

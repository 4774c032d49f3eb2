"""Inkwell infrastructure as code (the AWS CDK app lives in ``infra/cdk``)."""

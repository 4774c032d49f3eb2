"""A HEAD request handed to a GET function (a HEAD method wired to it on API Gateway)."""

from __future__ import annotations

import json

import wiring
from local import apigw
from local.dispatch import context_for, load_handler


def test_head_on_a_get_function_is_the_get_answer_without_a_body() -> None:
    route = wiring.route_by_name("health")
    event = apigw.request_event(route, route.path)
    handler = load_handler(route)
    got = handler(event, context_for(route))
    head = handler({**event, "httpMethod": "HEAD"}, context_for(route))
    assert head["statusCode"] == got["statusCode"] == 200
    assert json.loads(got["body"]) and head["body"] == ""
    assert head["headers"]["content-type"] == got["headers"]["content-type"]

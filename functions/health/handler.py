"""GET /health: liveness of the API (no dependencies, so it never cascades a failure)."""

from inkwell.http import FunctionApp
from inkwell.models import ResponseModel
from wiring import route_for_module

api = FunctionApp(route_for_module("health.handler"))


class Health(ResponseModel):
    status: str


@api.endpoint()
def health() -> Health:
    return Health(status="healthy")


handler = api.handler

"""GET /health: liveness of the API (no dependencies, so it never cascades a failure)."""

from inkwell.http import FunctionApp
from inkwell.models import ResponseModel

api = FunctionApp("health.handler")


class Health(ResponseModel):
    status: str


@api.endpoint()
def health() -> Health:
    return Health(status="healthy")


handler = api.handler

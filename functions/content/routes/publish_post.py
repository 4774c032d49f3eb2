"""POST /api/v1/posts/{id}/publish"""

from content import service
from content.models import Post, PublishRequest
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def publish_post(id: str, principal: Principal, body: PublishRequest | None = None) -> Post:
    return service.publish_post(id, body, principal)


handler = api.handler

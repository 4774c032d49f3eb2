"""GET /api/v1/posts/{id} (an id or a slug)"""

from content import service
from content.models import Post
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def get_post(id: str, principal: Principal | None) -> Post:
    return service.get_post(id, principal)


handler = api.handler

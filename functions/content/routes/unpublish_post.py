"""POST /api/v1/posts/{id}/unpublish"""

from content import service
from content.models import Post
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def unpublish_post(id: str, principal: Principal) -> Post:
    return service.unpublish_post(id, principal)


handler = api.handler

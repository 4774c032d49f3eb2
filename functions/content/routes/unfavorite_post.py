"""DELETE /api/v1/posts/{id}/favorite"""

from content import service
from content.models import Post
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def unfavorite_post(id: str, principal: Principal) -> Post:
    return service.unfavorite_post(id, principal)


handler = api.handler

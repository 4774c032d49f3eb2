"""PATCH /api/v1/posts/{id}"""

from content import service
from content.models import Post, UpdatePostRequest
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def update_post(id: str, body: UpdatePostRequest, principal: Principal) -> Post:
    return service.update_post(id, body, principal)


handler = api.handler

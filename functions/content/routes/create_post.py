"""POST /api/v1/posts"""

from content import service
from content.models import CreatePostRequest, Post
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=201)
def create_post(body: CreatePostRequest, principal: Principal) -> Post:
    return service.create_post(body, principal)


handler = api.handler

"""PATCH /api/v1/posts/{id}"""

from content import service
from content.models import Post, UpdatePostRequest
from inkwell.http import FunctionApp
from inkwell.identity import Principal

api = FunctionApp(__name__)


@api.endpoint()
def update_post(id: str, body: UpdatePostRequest, principal: Principal) -> Post:
    return service.update_post(id, body, principal)


handler = api.handler

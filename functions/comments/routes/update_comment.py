"""PATCH /api/v1/comments/{id}"""

from comments import service
from comments.models import Comment, UpdateCommentRequest
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def update_comment(id: str, body: UpdateCommentRequest, principal: Principal) -> Comment:
    return service.update_comment(id, body, principal)


handler = api.handler

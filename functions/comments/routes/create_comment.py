"""POST /api/v1/posts/{id}/comments"""

from comments import service
from comments.models import Comment, CreateCommentRequest
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=201)
def create_comment(id: str, body: CreateCommentRequest, principal: Principal) -> Comment:
    return service.create_comment(id, body, principal)


handler = api.handler

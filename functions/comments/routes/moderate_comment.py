"""POST /api/v1/comments/{id}/moderate"""

from comments import service
from comments.models import Comment, ModerateRequest
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def moderate_comment(id: str, body: ModerateRequest, principal: Principal) -> Comment:
    return service.moderate_comment(id, body, principal)


handler = api.handler

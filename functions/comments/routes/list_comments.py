"""GET /api/v1/posts/{id}/comments"""

from comments import service
from comments.models import Comment
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from inkwell.models import Page
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def list_comments(
    id: str, principal: Principal | None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[Comment]:
    return service.list_comments(id, principal, limit, cursor)


handler = api.handler

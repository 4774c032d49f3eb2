"""GET /api/v1/comments/moderation"""

from comments import service
from comments.models import QueuedComment
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from inkwell.models import Page
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def moderation_queue(
    principal: Principal, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[QueuedComment]:
    return service.moderation_queue(principal, limit, cursor)


handler = api.handler

"""GET /api/v1/feed"""

from content import service
from content.models import PostSummary
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from inkwell.models import Page
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def get_feed(
    principal: Principal, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[PostSummary]:
    return service.get_feed(principal, limit, cursor)


handler = api.handler

"""GET /api/v1/tags"""

from content import service
from content.models import TagList
from inkwell.http import FunctionApp
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def list_tags(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> TagList:
    return service.list_tags(limit, cursor)


handler = api.handler

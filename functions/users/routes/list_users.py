"""GET /api/v1/users"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from inkwell.models import Page
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from users import service
from users.models import User
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def list_users(
    principal: Principal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[User]:
    return service.list_users(principal, limit, cursor)


handler = api.handler

"""GET /api/v1/notifications"""

from comments import notifications
from comments.models import NotificationPage
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def list_notifications(
    principal: Principal, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> NotificationPage:
    return notifications.list_notifications(principal, limit, cursor)


handler = api.handler

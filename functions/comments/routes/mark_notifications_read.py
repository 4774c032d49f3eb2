"""POST /api/v1/notifications/read"""

from comments import notifications
from comments.models import MarkReadRequest
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=204)
def mark_notifications_read(principal: Principal, body: MarkReadRequest | None = None) -> None:
    notifications.mark_notifications_read(body, principal)


handler = api.handler

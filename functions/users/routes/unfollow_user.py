"""DELETE /api/v1/users/{id}/follow"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=204)
def unfollow_user(id: str, principal: Principal) -> None:
    service.unfollow_user(id, principal)


handler = api.handler

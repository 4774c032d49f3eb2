"""PUT /api/v1/users/{id}/password"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from users.models import ChangePasswordRequest
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=204)
def change_password(id: str, body: ChangePasswordRequest, principal: Principal) -> None:
    service.change_password(id, body, principal)


handler = api.handler

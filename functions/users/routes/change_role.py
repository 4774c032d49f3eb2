"""PUT /api/v1/users/{id}/role"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from users.models import ChangeRoleRequest, User
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def change_role(id: str, body: ChangeRoleRequest, principal: Principal) -> User:
    return service.change_role(id, body.role, principal)


handler = api.handler

"""PATCH /api/v1/users/{id}"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from users.models import UpdateUserRequest, User
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def update_user(id: str, body: UpdateUserRequest, principal: Principal) -> User:
    return service.update_user(id, body, principal)


handler = api.handler

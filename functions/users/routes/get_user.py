"""GET /api/v1/users/{id}"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from users.models import PublicUser, User
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def get_user(id: str, principal: Principal | None) -> User | PublicUser:
    return service.get_user(id, principal)


handler = api.handler

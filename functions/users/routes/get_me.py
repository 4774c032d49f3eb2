"""GET /api/v1/users/me"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from users.models import User
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def get_me(principal: Principal) -> User:
    return service.get_me(principal)


handler = api.handler

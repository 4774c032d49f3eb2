"""POST /api/v1/users/register"""

from inkwell.http import FunctionApp
from users import service
from users.models import RegisterRequest, User
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=201)
def register(body: RegisterRequest) -> User:
    return service.register(body)


handler = api.handler

"""POST /api/v1/users/login"""

from inkwell.http import FunctionApp
from users import service
from users.models import LoginRequest, TokenResponse
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(no_store=True)
def login(body: LoginRequest) -> TokenResponse:
    return service.login(body)


handler = api.handler

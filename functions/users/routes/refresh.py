"""POST /api/v1/users/refresh"""

from inkwell.http import FunctionApp
from users import service
from users.models import RefreshRequest, TokenResponse
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(no_store=True)
def refresh(body: RefreshRequest) -> TokenResponse:
    return service.refresh(body.refresh_token)


handler = api.handler

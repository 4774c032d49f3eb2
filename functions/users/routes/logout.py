"""POST /api/v1/users/logout"""

from inkwell.http import FunctionApp
from users import service
from users.models import RefreshRequest
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=204)
def logout(body: RefreshRequest) -> None:
    service.logout(body.refresh_token)


handler = api.handler

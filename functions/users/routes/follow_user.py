"""POST /api/v1/users/{id}/follow"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service

api = FunctionApp(__name__)


@api.endpoint(status_code=204)
def follow_user(id: str, principal: Principal) -> None:
    service.follow_user(id, principal)


handler = api.handler

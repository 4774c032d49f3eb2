"""PUT /api/v1/users/{id}/password"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from users.models import ChangePasswordRequest

api = FunctionApp(__name__)


@api.endpoint(status_code=204)
def change_password(
    id: str, body: ChangePasswordRequest, principal: Principal
) -> None:
    service.change_password(id, body, principal)


handler = api.handler

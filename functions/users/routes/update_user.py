"""PATCH /api/v1/users/{id}"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from users.models import UpdateUserRequest, User

api = FunctionApp(__name__)


@api.endpoint()
def update_user(
    id: str, body: UpdateUserRequest, principal: Principal
) -> User:
    return service.update_user(id, body, principal)


handler = api.handler

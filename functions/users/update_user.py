"""PATCH /api/v1/users/{id}"""

from typing import Annotated

from fastapi import Depends

from inkwell.http import FunctionApp, signed_in
from inkwell.tokens import Principal
from users import service
from users.models import UpdateUserRequest, User

api = FunctionApp(__name__)


@api.endpoint()
def update_user(
    id: str, body: UpdateUserRequest, principal: Annotated[Principal, Depends(signed_in)]
) -> User:
    return service.update_user(id, body, principal)


handler = api.handler

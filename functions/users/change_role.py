"""PUT /api/v1/users/{id}/role"""

from typing import Annotated

from fastapi import Depends

from inkwell.http import FunctionApp, signed_in
from inkwell.tokens import Principal
from users import service
from users.models import ChangeRoleRequest, User

api = FunctionApp(__name__)


@api.endpoint()
def change_role(
    id: str, body: ChangeRoleRequest, principal: Annotated[Principal, Depends(signed_in)]
) -> User:
    return service.change_role(id, body.role, principal)


handler = api.handler

"""PUT /api/v1/users/{id}/password"""

from typing import Annotated

from fastapi import Depends

from inkwell.http import FunctionApp, signed_in
from inkwell.tokens import Principal
from users import service
from users.models import ChangePasswordRequest

api = FunctionApp(__name__)


@api.endpoint(status_code=204)
def change_password(
    id: str, body: ChangePasswordRequest, principal: Annotated[Principal, Depends(signed_in)]
) -> None:
    service.change_password(id, body, principal)


handler = api.handler

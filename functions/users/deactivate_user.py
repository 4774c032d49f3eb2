"""DELETE /api/v1/users/{id}"""

from typing import Annotated

from fastapi import Depends

from inkwell.http import FunctionApp, signed_in
from inkwell.tokens import Principal
from users import service

api = FunctionApp(__name__)


@api.endpoint(status_code=204)
def deactivate_user(id: str, principal: Annotated[Principal, Depends(signed_in)]) -> None:
    service.deactivate_user(id, principal)


handler = api.handler

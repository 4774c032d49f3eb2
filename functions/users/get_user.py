"""GET /api/v1/users/{id}"""

from typing import Annotated

from fastapi import Depends

from inkwell.http import FunctionApp, caller
from inkwell.tokens import Principal
from users import service
from users.models import PublicUser, User

api = FunctionApp(__name__)


@api.endpoint()
def get_user(id: str, principal: Annotated[Principal | None, Depends(caller)]) -> User | PublicUser:
    return service.get_user(id, principal)


handler = api.handler

"""GET /api/v1/users/me"""

from typing import Annotated

from fastapi import Depends

from inkwell.http import FunctionApp, signed_in
from inkwell.tokens import Principal
from users import service
from users.models import User

api = FunctionApp(__name__)


@api.endpoint()
def get_me(principal: Annotated[Principal, Depends(signed_in)]) -> User:
    return service.get_me(principal)


handler = api.handler

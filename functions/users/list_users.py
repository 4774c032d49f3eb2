"""GET /api/v1/users"""

from typing import Annotated

from fastapi import Depends

from inkwell.http import FunctionApp, signed_in
from inkwell.models import Page
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from inkwell.tokens import Principal
from users import service
from users.models import User

api = FunctionApp(__name__)


@api.endpoint()
def list_users(
    principal: Annotated[Principal, Depends(signed_in)],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[User]:
    return service.list_users(principal, limit, cursor)


handler = api.handler

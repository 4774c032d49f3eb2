"""GET /api/v1/users/me/posts"""

from typing import Annotated

from fastapi import Query

from content import service
from content.models import PostSummary, Status
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from inkwell.models import Page
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def list_my_posts(
    principal: Principal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    status: Annotated[Status | None, Query(description="Only posts in this status.")] = None,
) -> Page[PostSummary]:
    return service.list_my_posts(principal, limit, cursor, status)


handler = api.handler

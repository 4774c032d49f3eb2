"""GET /api/v1/posts"""

from typing import Annotated

from fastapi import Query

from content import service
from content.models import PostSummary
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from inkwell.models import Page
from inkwell.pagination import DEFAULT_LIMIT, Cursor, Limit
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint()
def list_posts(
    principal: Principal | None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    tag: Annotated[
        str | None, Query(max_length=100, description="Only posts with this tag.")
    ] = None,
    author: Annotated[
        str | None, Query(max_length=100, description="Only posts of this username.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Search in titles and bodies (web search "
            'syntax: words, "phrases", -not, or).',
        ),
    ] = None,
) -> Page[PostSummary]:
    return service.list_posts(principal, limit, cursor, tag=tag, author=author, q=q)


handler = api.handler

"""POST /api/v1/posts/{id}/favorite"""

from content import service
from content.models import Post
from inkwell.http import FunctionApp
from inkwell.identity import Principal

api = FunctionApp(__name__)


@api.endpoint()
def favorite_post(id: str, principal: Principal) -> Post:
    return service.favorite_post(id, principal)


handler = api.handler

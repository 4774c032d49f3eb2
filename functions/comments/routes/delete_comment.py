"""DELETE /api/v1/comments/{id}"""

from comments import service
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=204)
def delete_comment(id: str, principal: Principal) -> None:
    service.delete_comment(id, principal)


handler = api.handler

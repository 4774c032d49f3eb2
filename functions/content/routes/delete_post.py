"""DELETE /api/v1/posts/{id}"""

from content import service
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=204)
def delete_post(id: str, principal: Principal) -> None:
    service.delete_post(id, principal)


handler = api.handler

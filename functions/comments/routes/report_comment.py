"""POST /api/v1/comments/{id}/report"""

from comments import service
from comments.models import ReportRequest
from inkwell.http import FunctionApp
from inkwell.identity import Principal
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=204)
def report_comment(id: str, principal: Principal, body: ReportRequest | None = None) -> None:
    service.report_comment(id, body, principal)


handler = api.handler

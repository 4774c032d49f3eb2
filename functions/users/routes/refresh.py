"""POST /api/v1/users/refresh"""

from inkwell.http import FunctionApp
from users import service
from users.models import RefreshRequest, TokenResponse

api = FunctionApp(__name__)


@api.endpoint(no_store=True)
def refresh(body: RefreshRequest) -> TokenResponse:
    return service.refresh(body.refresh_token)


handler = api.handler

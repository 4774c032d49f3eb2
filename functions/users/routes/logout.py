"""POST /api/v1/users/logout"""

from inkwell.http import FunctionApp
from users import service
from users.models import RefreshRequest

api = FunctionApp(__name__)


@api.endpoint(status_code=204)
def logout(body: RefreshRequest) -> None:
    service.logout(body.refresh_token)


handler = api.handler

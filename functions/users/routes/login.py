"""POST /api/v1/users/login"""

from inkwell.http import FunctionApp
from users import service
from users.models import LoginRequest, TokenResponse

api = FunctionApp(__name__)


@api.endpoint(no_store=True)
def login(body: LoginRequest) -> TokenResponse:
    return service.login(body)


handler = api.handler

"""POST /api/v1/users/register"""

from inkwell.http import FunctionApp
from users import service
from users.models import RegisterRequest, User

api = FunctionApp(__name__)


@api.endpoint(status_code=201)
def register(body: RegisterRequest) -> User:
    return service.register(body)


handler = api.handler

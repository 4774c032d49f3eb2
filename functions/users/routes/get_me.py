"""GET /api/v1/users/me"""

from inkwell.http import FunctionApp
from inkwell.identity import Principal
from users import service
from users.models import User

api = FunctionApp(__name__)


@api.endpoint()
def get_me(principal: Principal) -> User:
    return service.get_me(principal)


handler = api.handler

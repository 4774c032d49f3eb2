"""POST /api/v1/users/password-reset/confirm"""

from inkwell.http import FunctionApp
from users import service
from users.models import PasswordResetConfirmation
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=204)
def confirm_password_reset(body: PasswordResetConfirmation) -> None:
    service.confirm_password_reset(body)


handler = api.handler

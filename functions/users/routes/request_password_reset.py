"""POST /api/v1/users/password-reset"""

from inkwell.http import FunctionApp, source_ip
from users import service
from users.models import PasswordResetAccepted, PasswordResetRequest
from wiring import route_for_module

api = FunctionApp(route_for_module(__name__))


@api.endpoint(status_code=202)
def request_password_reset(body: PasswordResetRequest) -> PasswordResetAccepted:
    return PasswordResetAccepted(message=service.request_password_reset(body, source_ip()))


handler = api.handler

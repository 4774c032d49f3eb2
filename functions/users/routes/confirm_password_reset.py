"""POST /api/v1/users/password-reset/confirm"""

from inkwell.http import FunctionApp
from users import service
from users.models import PasswordResetConfirmation

api = FunctionApp(__name__)


@api.endpoint(status_code=204)
def confirm_password_reset(body: PasswordResetConfirmation) -> None:
    service.confirm_password_reset(body)


handler = api.handler

"""Password rules beyond Django's own: the username inside the password is refused.

Django's similarity validator compares whole strings, so "pwuserpwuser" passes for "pwuser"
(ratio 0.67 < 0.7); a password that contains the username is guessed as easily.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MIN_NAME = 3  # shorter usernames are too common inside ordinary words to refuse


class NotContainingUsernameValidator:
    def validate(self, password: str, user: Any = None) -> None:
        name = (getattr(user, "username", "") or "").casefold()
        if len(name) >= MIN_NAME and name in password.casefold():
            raise ValidationError(
                _("The password must not contain the username."), code="password_has_username"
            )

    def get_help_text(self) -> str:
        return _("Your password must not contain your username.")

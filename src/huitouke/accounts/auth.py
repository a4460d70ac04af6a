"""How the API knows who is calling: a bearer token (integrations) or the UI's session (with CSRF)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from huitouke.accounts.models import ApiToken, Role, User, hash_token
from huitouke.accounts.tokens import audit_daily_use, scope_allows
from huitouke.core.problems import Problem

# last_used_at is for "is this token still in use?", not an access log: one write a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer <token>` checked against the stored SHA-256 of each ApiToken."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token or len(token) > 200:
            return None
        api_token = (
            ApiToken.objects.select_related("user").filter(key_hash=hash_token(token)).first()
        )
        now = timezone.now()
        if api_token is None or not api_token.user.is_active or not api_token.is_usable(now):
            return None
        match = getattr(request, "resolver_match", None)
        if not scope_allows(api_token.scope, request.method or "", getattr(match, "route", "")):
            raise Problem(
                "insufficient_scope",
                _("This token is limited to “%(scope)s” and cannot do this.")
                % {"scope": api_token.get_scope_display()},
            )
        audit_daily_use(api_token, request)
        stale = now - LAST_USED_RESOLUTION
        # One UPDATE per request counts it; last_used_at moves at most once a minute with it.
        ApiToken.objects.filter(pk=api_token.pk).update(
            use_count=F("use_count") + 1,
            last_used_at=Case(
                When(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), then=Value(now)),
                default=F("last_used_at"),
            ),
        )
        # Downstream helpers (scoping, audit) read request.user, as they do for the UI.
        request.user = api_token.user
        return api_token.user


class SessionCsrfAuth(SessionAuth):
    """The signed-in UI user; unsafe methods must carry the CSRF token like any Django form."""

    def __call__(self, request: HttpRequest) -> Any:
        # Without a session there is nothing to protect: answer 401 rather than a CSRF 403.
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def _get_key(self, request: HttpRequest) -> str | None:
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise HttpError(403, _("CSRF check failed: reload the page and try again."))
        return request.COOKIES.get(self.param_name)


def api_auth() -> list[Any]:
    """The authentication callbacks of every API endpoint, tried in this order."""
    return [ApiTokenAuth(), SessionCsrfAuth()]


def api_user(request: HttpRequest) -> User:
    """The authenticated staff member; an account outside any organisation has nothing to work on."""
    user: User = request.auth  # type: ignore[attr-defined]
    if user.organisation_id is None:
        raise HttpError(403, _("Your account does not belong to an organisation."))
    return user


def require_manager(user: User, message: str) -> None:
    """Refuse (403) unless the user is the owner or a store manager."""
    if user.role not in (Role.OWNER, Role.MANAGER):
        raise HttpError(403, message)

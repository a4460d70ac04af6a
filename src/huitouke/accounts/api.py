"""API: who am I."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from huitouke.accounts.models import User

router = Router(tags=["accounts"])


class NamedRef(Schema):
    id: int
    name: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    organisation: NamedRef | None
    store: NamedRef | None

    @staticmethod
    def resolve_display_name(obj: User) -> str:
        return str(obj)


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> User:
    """The calling staff member, her role, organisation and store."""
    user: User = request.auth  # type: ignore[attr-defined]
    return user

"""Template context shared by every page: the navigation for the signed-in user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        ("dashboard", _("Dashboard"), "dashboard"),
        ("customers", _("Customers"), "customers:list"),
        ("members", _("Members"), "members:list"),
        ("tasks", _("Tasks"), "followups:inbox"),
        ("order", _("Quick order"), "sales:quick_order"),
        ("orders", _("Orders"), "sales:orders"),
        ("products", _("Products"), "sales:products"),
        ("segments", _("Segments"), "segments:list"),
    ]
    if getattr(user, "role", "") in ("owner", "manager"):
        items.append(("analytics", _("Analytics"), "analytics:overview"))
        items.append(("staff", _("Staff"), "accounts:staff"))
        items.append(("staff_results", _("Staff results"), "followups:results"))
        items.append(("automation", _("Automation"), "automation:list"))
        items.append(("loyalty", _("Coupons"), "loyalty:coupons"))
    if getattr(user, "role", "") == "owner":
        items.append(("imports", _("Import & export"), "imports:list"))
        items.append(("audit", _("Audit log"), "audit:list"))
        items.append(("wecom", _("WeCom"), "wecom:settings"))
    return {"nav_items": items}

"""The main pages under the Content-Security-Policy: no violation reaches the console or the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD, make_customer, make_order, make_product

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = [
    "dashboard",
    "customers:list",
    "customers:create",
    "sales:quick_order",
    "sales:orders",
    "sales:products",
    "analytics:overview",
    "segments:list",
    "automation:list",
    "followups:inbox",
    "followups:results",
    "imports:list",
    "messaging:outbox",
    "audit:list",
    "accounts:settings",
    "accounts:staff",
]


def test_main_pages_raise_no_csp_violation(page: Any, org: Any, store1: Any, owner: Any) -> None:
    customer = make_customer(org, name="林晓雨", owner=owner, home_store=store1)
    make_order(customer, store1, product=make_product(org))
    console: list[str] = []
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: console.append(str(exc)))
    log_in(page, "owner", PASSWORD)
    paths = [reverse(name) for name in PAGES]
    paths += [
        reverse("customers:detail", args=[customer.pk]),
        reverse("sales:quick_order") + f"?customer={customer.pk}",
    ]
    for path in paths:
        response = page.goto(page.base_url + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    violations = [m for m in console if "Content Security Policy" in m or "Content-Security" in m]
    assert violations == []

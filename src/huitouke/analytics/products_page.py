"""The products page: every product and category with its purchase phases, learned or set.

It shows sales' products beside analytics' learned cycles, so it lives in analytics, the higher
of the two (docs/architecture.md). Its URL stays /sales/products/ (`sales:products`, wired in
huitouke/urls.py); the product and category forms it links to are sales' own.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from huitouke.accounts.http import AuthedRequest
from huitouke.analytics.queries import category_phases, product_phases
from huitouke.sales.models import Product


@login_required
def product_list(request: AuthedRequest) -> HttpResponse:
    org = request.user.organisation
    products = Product.objects.filter(organisation=org).select_related("category")
    return render(
        request,
        "analytics/products.html",
        {
            "products": product_phases(org, products),
            "categories": category_phases(org),
            "active_nav": "products",
        },
    )

"""The site's URLs plus one page that fails the way a lost database does (for the 500 page test)."""

from __future__ import annotations

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from huitouke import urls as site


def boom(request: HttpRequest) -> HttpResponse:
    raise OperationalError("the database went away")


urlpatterns = [path("boom/", boom), *site.urlpatterns]
handler403 = site.handler403
handler404 = site.handler404
handler500 = site.handler500

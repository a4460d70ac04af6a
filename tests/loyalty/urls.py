"""The site's URLs with loyalty wired in, as huitouke/urls.py and huitouke/api.py will have them.

Until the lead mounts them, the loyalty pages are added under /loyalty/ and the API is a copy of
the site's (same authentication, parser and error handlers) with the loyalty router added.
"""

from django.urls import include, path
from ninja import NinjaAPI

from huitouke import api as site
from huitouke.accounts.auth import api_auth
from huitouke.loyalty.api import router
from huitouke.urls import urlpatterns as site_urls

urlpatterns = list(site_urls)
if not any(str(p.pattern) == "loyalty/" for p in urlpatterns):
    urlpatterns.append(path("loyalty/", include("huitouke.loyalty.urls")))
if not any(mounted is router for _prefix, mounted in site.api._routers):
    api = NinjaAPI(
        urls_namespace="loyalty-test-api", auth=api_auth(), parser=site.StrictJsonParser()
    )
    api._exception_handlers.update(site.api._exception_handlers)
    api.add_router("/", router)
    urlpatterns = [
        *(p for p in urlpatterns if str(p.pattern) != "api/v1/"),
        path("api/v1/", api.urls),
    ]

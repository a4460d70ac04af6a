"""Issue 14: the IDOR sweep. Every URL pattern and API operation that takes an id, tried with the
ids of organisation 1's objects by someone who may not reach them, asserting a refusal (400, 403,
404 or 405) and that no row of any table changed.

Personas: another organisation's owner (every id of organisation 1 is foreign to her; her role
allows everything in her own shop, so a refusal is the scope's, not the role's), staff of store 1
and the manager of store 1 (the ids of a store-2 customer owned by staff of store 2, and what
hangs off her). Runs on both databases like the rest of the suite.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from tests.automation.conftest import make_rule
from tests.helpers import make_customer, make_order
from tests.loyalty.test_coupons import make_template

from huitouke.accounts.tokens import create_api_token
from huitouke.automation.models import Enrolment, Trigger
from huitouke.customers.actions import do_add_interaction
from huitouke.followups.actions import do_create_task
from huitouke.followups.defaults import ensure_default_rules
from huitouke.followups.models import SopRule
from huitouke.imports.export_jobs import do_request_export
from huitouke.loyalty.actions import do_adjust_points
from huitouke.loyalty.coupons import do_issue_coupons
from huitouke.messaging.models import Message, MessageTemplate
from huitouke.segments.actions import do_save_segment
from huitouke.segments.models import SegmentSnapshot

pytestmark = pytest.mark.django_db

REFUSED = {400, 403, 404, 405}
# The API checks the body before the id: an empty body is 422 whoever owns the id.
API_REFUSED = REFUSED | {422}
# Not entered by id of a shop object: tokens in the path (member join, provider callbacks), the
# password-reset link, Django's admin (superusers only), and exports by kind.
SKIP = re.compile(r"^(admin/|password-reset/|m/|api/v1/automation-templates/)|callback|/export/")
# Tables written by any request (sign-in bookkeeping, the audit log, sessions, rate limits).
UNWATCHED = {"auditentry", "session", "accessattempt", "accesslog", "accessfailurelog"}
# Columns a request may touch on its own behalf: the persona's API token notes its use.
UNWATCHED_COLUMNS = {"apitoken": ("last_used_at", "last_audited_on", "use_count")}
UNWATCHED_APPS = {"axes", "sessions", "admin", "contenttypes", "auth"}
API_MODELS = {
    "customer_id": ("customers", "Customer"),
    "category_id": ("sales", "Category"),
    "product_id": ("sales", "Product"),
    "order_id": ("sales", "Order"),
    "template_id": ("loyalty", "CouponTemplate"),
    "task_id": ("followups", "FollowUpTask"),
    "segment_id": ("segments", "Segment"),
    "rule_id": ("automation", "AutomationRule"),
}
APP_OF = {"member": "members", "messaging": "messaging", "followups": "followups"}


def routes() -> Iterator[tuple[str, str | None, list[tuple[str, str]]]]:
    """(route, namespace, [(converter, name)]) of every pattern with a path parameter."""

    def walk(resolver: URLResolver, prefix: str, ns: str | None) -> Iterator[Any]:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                yield from walk(p, prefix + str(p.pattern), p.namespace or ns)
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), ns

    for route, ns in walk(get_resolver(), "", None):
        params = re.findall(r"<(?:(\w+):)?(\w+)>", route)
        if params and not SKIP.search(route):
            yield route, ns, params


def fill(route: str, values: dict[str, Any]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


def fingerprint(org: Any) -> dict[str, str]:
    """A digest of organisation `org`'s rows in every watched table."""
    digests = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label in UNWATCHED_APPS or meta.model_name in UNWATCHED or not meta.managed:
            continue
        qs = of_org(model, org)
        if qs is None:
            continue
        columns = [
            f.attname
            for f in meta.concrete_fields
            if f.attname not in UNWATCHED_COLUMNS.get(meta.model_name or "", ())
        ]
        rows = qs.order_by("pk").values_list(*columns)
        digests[meta.label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return digests


def of_org(model: Any, org: Any) -> Any:
    """`model`'s rows of organisation `org`, or None when the table names no organisation."""
    names = {f.name for f in model._meta.get_fields()}
    qs = model._default_manager.all()
    if "organisation" in names:
        return qs.filter(organisation=org)
    if "customer" in names:
        return qs.filter(customer__organisation=org)
    if "order" in names:
        return qs.filter(order__organisation=org)
    if "user" in names:
        return qs.filter(user__organisation=org)
    return None


def org_ids(org: Any, app_label: str, model_name: str | None = None) -> set[int]:
    """Integer primary keys of organisation `org`'s rows in `app_label` (or one model)."""
    ids: set[int] = set()
    for model in apps.get_app_config(app_label).get_models():
        if model_name and model.__name__ != model_name:
            continue
        qs = of_org(model, org)
        if qs is not None:
            ids |= {pk for pk in qs.values_list("pk", flat=True) if isinstance(pk, int)}
    return ids


@pytest.fixture
def shop(org: Any, store1: Any, store2: Any, owner: Any, staff_c: Any) -> dict[str, Any]:
    """Organisation 1 with one of everything, around a store-2 customer of staff_c."""
    her = make_customer(org, name="外店乙", home_store=store2, owner=staff_c)
    order = make_order(her, store2, unit_price="200.00", actor=owner)
    do_adjust_points(her, points=100, reason="seed", actor=owner)
    template = make_template(org)
    do_issue_coupons(template, [her], actor=owner)
    do_add_interaction(her, actor=staff_c, kind="call", note="seed")
    task = do_create_task(
        customer=her, kind="call", due_at=timezone.now() + timedelta(days=1), actor=owner
    )
    segment = do_save_segment(
        organisation=org,
        actor=owner,
        name="二店",
        definition={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "store", "op": "in", "value": [store2.pk]}],
        },
    )
    rule = make_rule(
        org,
        actions=[{"type": "add_tag", "tag": "x"}],
        segment=segment,
        trigger=Trigger.MANUAL,
        params={"send_at": "2026-01-01T10:00:00+08:00"},
    )
    message_template = MessageTemplate.objects.create(
        organisation=org, name="seed", channel="sms", body="您好"
    )
    Message.objects.create(
        organisation=org, customer=her, channel="sms", body="您好", idempotency_key="idor-seed"
    )
    token_raw = create_api_token(owner, "seed", actor=owner)
    # Her place in the rule's results, the segment's size history, the owner's own export and
    # the shop's SOP rules: what a rule, campaign, segment, SOP or export page could show.
    Enrolment.objects.create(
        organisation=org,
        rule=rule,
        customer=her,
        occurrence_key="manual",
        status="done",
        due_at=timezone.now(),
        acted_at=timezone.now(),
    )
    SegmentSnapshot.objects.create(segment=segment, day=timezone.now().date(), count=86421)
    export = do_request_export(actor=owner, kind="customers", fmt="csv")
    ensure_default_rules(org)
    return {
        "her": her,
        "order": order,
        "template": template,
        "task": task,
        "segment": segment,
        "rule": rule,
        "message_template": message_template,
        "owner_token": token_raw,
        "export": export,
        "sop": SopRule.objects.filter(organisation=org).order_by("pk")[0],
    }


def candidates(org: Any, mine: Any, ns: str | None, param: str) -> set[int]:
    """Ids of organisation 1's objects a route may take, less any id that is also one of the
    persona's own objects of those models (a request on her own object is no leak)."""
    if param in API_MODELS:
        return org_ids(org, *API_MODELS[param]) - org_ids(mine, *API_MODELS[param])
    if param == "org_id":
        return {org.pk}
    app = APP_OF.get(ns or "", ns or "")
    ids = org_ids(org, "customers", "Customer") | org_ids(org, "sales", "Order")
    own = org_ids(mine, "customers", "Customer") | org_ids(mine, "sales", "Order")
    if app and app in {c.label for c in apps.get_app_configs()}:
        ids |= org_ids(org, app)
        own |= org_ids(mine, app)
    return ids - own


def sweep(client: Client, org: Any, mine: Any, headers: dict[str, str]) -> list[str]:
    """Every id-taking route with every candidate id, GET and POST (PATCH for the API)."""
    leaks = []
    tried = 0
    for route, ns, params in routes():
        is_api = route.startswith("api/")
        int_params = [name for conv, name in params if conv in ("int", "") or name.endswith("_id")]
        values: dict[str, Any] = {name: "csv" for conv, name in params if conv == "str"}
        if not int_params:
            continue
        pools = {name: sorted(candidates(org, mine, ns, name)) for name in int_params}
        for name in int_params:
            for pk in pools[name]:
                filled = {**values, **{n: pools[n][0] if pools[n] else 1 for n in int_params}}
                filled[name] = pk
                url = fill(route, filled)
                methods = ("get", "post", "patch") if is_api else ("get", "post")
                for method in methods:
                    kwargs: dict[str, Any] = dict(headers)
                    if is_api and method != "get":
                        kwargs.update(data="{}", content_type="application/json")
                    response = getattr(client, method)(url, **kwargs)
                    tried += 1
                    if response.status_code not in (API_REFUSED if is_api else REFUSED):
                        leaks.append(f"{method.upper()} {url} -> {response.status_code}")
    assert tried > 150, tried
    return leaks


def test_another_organisations_owner_reaches_nothing(
    org: Any, other_owner: Any, shop: dict[str, Any]
) -> None:
    client = Client()
    client.force_login(other_owner)
    raw = create_api_token(other_owner, "sweep", actor=other_owner)
    before = fingerprint(org)
    leaks = sweep(client, org, other_owner.organisation, {"HTTP_AUTHORIZATION": f"Bearer {raw}"})
    assert leaks == []
    assert fingerprint(org) == before


@pytest.mark.parametrize("persona", ["staff_a", "manager"])
def test_staff_and_a_manager_of_another_store_reach_nothing_of_her(
    request: pytest.FixtureRequest, persona: str, org: Any, shop: dict[str, Any]
) -> None:
    user = request.getfixturevalue(persona)
    her = shop["her"]
    client = Client()
    client.force_login(user)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, 'sweep', actor=user)}"}
    before = fingerprint(org)
    leaks = []
    ids = {
        "customer": her.pk,
        "order": shop["order"].pk,
        "task": shop["task"].pk,
    }
    web = [
        f"/customers/{ids['customer']}/",
        f"/customers/{ids['customer']}/edit/",
        f"/customers/{ids['customer']}/interactions/",
        f"/customers/{ids['customer']}/family/",
        f"/customers/{ids['customer']}/reveal-phone/",
        f"/customers/{ids['customer']}/privacy/",
        f"/customers/{ids['customer']}/privacy/export/",
        f"/customers/{ids['customer']}/privacy/erase/",
        f"/sales/orders/{ids['order']}/",
        f"/sales/orders/{ids['order']}/refund/",
        f"/loyalty/customers/{ids['customer']}/points/",
        f"/loyalty/customers/{ids['customer']}/points/adjust/",
        f"/messages/customers/{ids['customer']}/",
        f"/messages/customers/{ids['customer']}/opt-out/",
        f"/messages/customers/{ids['customer']}/opt-in/",
        f"/tasks/{ids['task']}/",
        f"/tasks/{ids['task']}/complete/",
        f"/tasks/{ids['task']}/skip/",
    ]
    for url in web:
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            if status not in REFUSED:
                leaks.append(f"{method.upper()} {url} -> {status}")
    api = [
        f"/api/v1/customers/{her.pk}",
        f"/api/v1/customers/{her.pk}/timeline",
        f"/api/v1/customers/{her.pk}/interactions",
        f"/api/v1/customers/{her.pk}/loyalty",
        f"/api/v1/customers/{her.pk}/points",
        f"/api/v1/customers/{her.pk}/points/award",
        f"/api/v1/customers/{her.pk}/points/redeem",
        f"/api/v1/customers/{her.pk}/coupons",
        f"/api/v1/customers/{her.pk}/opt-outs",
        f"/api/v1/orders/{ids['order']}",
        f"/api/v1/orders/{ids['order']}/refunds",
        f"/api/v1/tasks/{ids['task']}",
        f"/api/v1/tasks/{ids['task']}/complete",
        f"/api/v1/tasks/{ids['task']}/skip",
    ]
    for url in api:
        for method in ("get", "post", "patch"):
            kwargs: dict[str, Any] = dict(headers)
            if method != "get":
                kwargs.update(data="{}", content_type="application/json")
            status = getattr(client, method)(url, **kwargs).status_code
            if status not in API_REFUSED:
                leaks.append(f"{method.upper()} {url} -> {status}")
    # The checkout: her phone at the quick order is "not yours", never used.
    response = client.post(
        "/sales/order/new/", {"phone": her.phone, "store": user.store_id, "amount": "10"}
    )
    assert her.name not in response.content.decode()
    assert leaks == []
    assert fingerprint(org) == before


def query_routes(shop: dict[str, Any], staff_id: int) -> list[str]:
    """Every screen that takes an id (or a phone) in its query string, with organisation 1's."""
    her, digits = shop["her"], shop["her"].phone[-11:]
    return [
        f"/sales/order/new/?customer={her.pk}",
        f"/sales/order/lookup/?phone={digits}",
        f"/loyalty/coupons/issue/?customer={her.pk}&template={shop['template'].pk}",
        f"/messages/?rule={shop['rule'].pk}",
        f"/messages/templates/new/?customer={her.pk}",
        f"/tasks/new/?customer={her.pk}",
        f"/imports/export/?segment={shop['segment'].pk}",
        f"/customers/?store={her.home_store_id}&owner={her.owner_id}",
        f"/customers/?q={digits}",
        f"/accounts/handover/?from={staff_id}",
    ]


def secrets_of(shop: dict[str, Any]) -> list[str]:
    """What a page must not show someone outside her scope: her name and number, and the names
    of organisation 1's segment, rule and coupon template."""
    her = shop["her"]
    return [
        her.name,
        her.phone[-11:],
        her.phone[-4:] + "<",  # the last digits as a masked number ends them
        shop["segment"].name,
        shop["rule"].name,
        shop["template"].name,
    ]


@pytest.mark.parametrize("persona", ["other_owner", "staff_a", "manager"])
def test_query_string_ids_and_phones_reach_nothing(
    request: pytest.FixtureRequest, persona: str, org: Any, shop: dict[str, Any], staff_c: Any
) -> None:
    user = request.getfixturevalue(persona)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    # Staff and the manager of store 1 share organisation 1's segment, rule and template names
    # by design; her name and number are what they must not reach.
    secrets = secrets_of(shop) if persona == "other_owner" else secrets_of(shop)[:3]
    before = fingerprint(org)
    leaks = []
    for url in query_routes(shop, staff_c.pk):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code in REFUSED or response.status_code == 302:
                continue
            if response.status_code != 200:
                leaks.append(f"{method.upper()} {url} -> {response.status_code}")
                continue
            body = response.content.decode()
            if "phone=" in url or "q=" in url:
                # A search box shows back what was typed; her name must still not appear.
                body = body.replace(shop["her"].phone[-11:], "")
            shown = [s for s in secrets if s and s in body]
            if shown:
                leaks.append(f"{method.upper()} {url} shows {shown}")
    assert leaks == []
    assert fingerprint(org) == before


@pytest.mark.parametrize("persona", ["staff_a", "manager"])
def test_rules_campaigns_sops_segments_and_exports_show_nothing_of_her(
    request: pytest.FixtureRequest, persona: str, org: Any, shop: dict[str, Any]
) -> None:
    """Pages of shop-wide objects (the organisation's rule and campaign, SOP, segment, the
    owner's export): refused, or shown without her (name, number, her place in the totals)."""
    user = request.getfixturevalue(persona)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    rule, segment, sop, export = shop["rule"], shop["segment"], shop["sop"], shop["export"]
    refused = [
        # The owner's export: only its creator sees or fetches it.
        f"/imports/export/job/{export.pk}/",
        f"/imports/export/job/{export.pk}/status/",
        f"/imports/export/job/{export.pk}/download/",
        # An organisation-wide rule is the owner's to change.
        f"/automation/{rule.pk}/edit/",
        f"/automation/{rule.pk}/toggle/",
        f"/tasks/rules/{sop.pk}/delete/",
    ]
    shown = [f"/automation/{rule.pk}/", f"/segments/{segment.pk}/", "/automation/", "/segments/"]
    if persona == "staff_a":  # rules and SOPs are for the owner and managers
        refused += [*shown[:1], f"/tasks/rules/{sop.pk}/", f"/automation/{rule.pk}/preview/"]
        shown = shown[1:]
    secrets = [*secrets_of(shop)[:3], "86421"]  # her, and the organisation-wide size
    before = fingerprint(org)
    leaks = []
    for url in refused:
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            if status not in REFUSED:
                leaks.append(f"{method.upper()} {url} -> {status}")
    for url in shown:
        response = client.get(url)
        if response.status_code in REFUSED:
            continue
        body = response.content.decode()
        if found := [s for s in secrets if s in body]:
            leaks.append(f"GET {url} shows {found}")
        if url == f"/automation/{rule.pk}/" and 'data-kpi="targeted">0<' not in body:
            leaks.append(f"GET {url} counts her among the targeted")
    assert leaks == []
    assert fingerprint(org) == before

"""Issue 15 item 4: marketing consent is unknown until she answers (PIPL art. 14); every answer
is a ConsentEvent with its channel, source, actor and time; imports only from a consent column."""

from __future__ import annotations

import pytest
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD
from tests.imports.importfiles import write_csv

from huitouke.customers.actions import do_create_customer, do_update_customer
from huitouke.customers.models import Customer
from huitouke.imports.actions import do_commit_import
from huitouke.members.models import ConsentEvent

CONSENTS = ("consent_sms", "consent_email", "consent_wechat")


def consents(customer: Customer) -> tuple[bool, bool, bool]:
    customer.refresh_from_db()
    return tuple(getattr(customer, f) for f in CONSENTS)  # type: ignore[return-value]


@pytest.mark.django_db
def test_a_new_customer_has_no_consent_and_no_event(org, owner):
    her = do_create_customer(organisation=org, actor=owner, name="陈静", consent_source="form")
    assert consents(her) == (False, False, False)
    assert not ConsentEvent.objects.exists() and her.consent_updated_at is None


@pytest.mark.django_db
def test_the_new_customer_form_has_the_boxes_unticked_and_records_what_is_ticked(client, owner):
    client.force_login(owner)
    html = client.get("/customers/new/").content.decode()
    for field in CONSENTS:
        box = (
            html.split(f'id="id_{field}"')[0].rsplit("<input", 1)[1]
            + html.split(f'id="id_{field}"')[1].split(">")[0]
        )
        assert "checked" not in box, field
    response = client.post(
        "/customers/new/",
        {"name": "林晓雨", "source": "walk_in", "birthday_kind": "solar", "consent_sms": "on"},
    )
    assert response.status_code == 302
    her = Customer.objects.get(name="林晓雨")
    assert consents(her) == (True, False, False)
    event = ConsentEvent.objects.get()
    assert (event.customer, event.channel, event.granted, event.source, event.actor) == (
        her,
        "sms",
        True,
        "form",
        owner,
    )
    assert her.consent_updated_at == event.at


@pytest.mark.django_db
def test_only_a_change_of_answer_writes_an_event(org, owner):
    her = do_create_customer(organisation=org, actor=owner, name="陈静", consent_source="form")
    do_update_customer(her, actor=owner, consent_source="api", consent_email=True)
    do_update_customer(her, actor=owner, consent_source="api", consent_email=True, city="上海")
    do_update_customer(her, actor=owner, consent_source="api", consent_email=False)
    rows = list(
        ConsentEvent.objects.order_by("id").values_list("channel", "granted", "source", "actor")
    )
    assert rows == [("email", True, "api", owner.pk), ("email", False, "api", owner.pk)]


@pytest.mark.django_db
def test_the_api_records_consent_as_given_through_the_api(org, owner):
    from huitouke.accounts.tokens import create_api_token

    token = create_api_token(owner, "t", actor=owner)
    from django.test import Client

    api = Client(headers={"Authorization": f"Bearer {token}"})
    created = api.post("/api/v1/customers", {"name": "甲"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["consent_sms"] is False
    pk = created.json()["id"]
    api.patch(f"/api/v1/customers/{pk}", {"consent_wechat": True}, content_type="application/json")
    event = ConsentEvent.objects.get()
    assert (event.customer_id, event.channel, event.granted, event.source) == (
        pk,
        "wechat",
        True,
        "api",
    )


@pytest.mark.django_db
def test_imports_opt_in_only_from_a_consent_column(tmp_path, store1, owner):
    plain = write_csv(tmp_path / "a.csv", ["姓名", "手机"], [["甲", "13800000001"]])
    do_commit_import(
        plain, organisation=store1.organisation, store=store1, kind="customers", actor=owner
    )
    assert consents(Customer.objects.get(name="甲")) == (False, False, False)
    assert not ConsentEvent.objects.exists()

    with_column = write_csv(
        tmp_path / "b.csv",
        ["姓名", "手机", "同意营销"],
        [["乙", "13800000002", "是"], ["丙", "13800000003", "否"], ["甲", "13800000001", "是"]],
    )
    summary = do_commit_import(
        with_column, organisation=store1.organisation, store=store1, kind="customers", actor=owner
    )
    assert summary.errors == []
    assert consents(Customer.objects.get(name="乙")) == (True, True, True)
    assert consents(Customer.objects.get(name="丙")) == (False, False, False)
    assert consents(Customer.objects.get(name="甲")) == (True, True, True)  # an existing one
    events = ConsentEvent.objects.filter(source="import", actor=owner)
    assert sorted(events.values_list("customer__name", flat=True)) == ["乙"] * 3 + ["甲"] * 3
    assert set(events.values_list("granted", flat=True)) == {True}
    # Importing the same file again changes nothing and records nothing new.
    do_commit_import(
        with_column, organisation=store1.organisation, store=store1, kind="customers", actor=owner
    )
    assert ConsentEvent.objects.count() == 6


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_consent_boxes_unticked_in_the_browser(page, owner):
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/customers/new/")
    for field in CONSENTS:
        assert not page.is_checked(f"#id_{field}")
    page.fill("#id_name", "王芳")
    page.check("#id_consent_wechat")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('王芳')")
    her = Customer.objects.get(name="王芳")
    assert consents(her) == (False, False, True)
    assert list(ConsentEvent.objects.values_list("channel", "source")) == [("wechat", "form")]

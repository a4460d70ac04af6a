"""Issue 15 item 8: every owner change (form, handover, merge) is audited, kept in the history,
moves her open tasks and re-renders their signature; a handover is confirmed first."""

from __future__ import annotations

import pytest
from django.utils import translation
from tests.e2e.conftest import log_in
from tests.followups.conftest import make_task
from tests.helpers import PASSWORD, make_customer

from huitouke.audit.models import AuditEntry
from huitouke.customers.duplicates import do_merge_customers
from huitouke.customers.models import Customer, OwnershipChange
from huitouke.customers.ownership import do_change_owner
from huitouke.followups.actions import do_complete_task
from huitouke.followups.models import FollowUpTask, TaskStatus

SIGNED = "陈女士您好，我是万达店的{}。"


@pytest.mark.django_db
def test_the_edit_form_changes_owner_through_the_one_action(client, owner, org, staff_a, staff_b):
    her = make_customer(org, name="陈静", owner=staff_a, gender="f")
    task = make_task(her, staff_a, script=SIGNED.format("小美"))
    done = make_task(her, staff_a, script=SIGNED.format("小美"))
    do_complete_task(done, actor=staff_a, outcome="ok")
    client.force_login(owner)
    form = client.get(f"/customers/{her.pk}/edit/").context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(name="陈静", owner=str(staff_b.pk), source="walk_in", gender="f")
    data.pop("tags_text", None)
    response = client.post(f"/customers/{her.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    her.refresh_from_db()
    task.refresh_from_db()
    done.refresh_from_db()
    assert her.owner == staff_b
    assert (task.assignee, task.script) == (staff_b, SIGNED.format("小丽"))
    assert (done.assignee, done.script) == (staff_a, SIGNED.format("小美"))  # history untouched
    change = OwnershipChange.objects.get(customer=her)
    assert (change.from_owner, change.to_owner, change.changed_by, change.reason) == (
        staff_a,
        staff_b,
        owner,
        "manual",
    )
    entry = AuditEntry.objects.get(action="owner_change")
    assert entry.actor == owner and entry.object_id == str(her.pk)
    assert entry.detail["tasks_moved"] == 1 and entry.detail["from"] == {str(staff_a.pk): 1}
    with translation.override("en"):
        assert entry.label == "Changed a customer's owner"
    with translation.override("zh-hans"):
        assert entry.label == "更换了客户的负责人"
    page = client.get(f"/customers/{her.pk}/", headers={"Accept-Language": "zh-hans"})
    card = page.content.decode().split('data-testid="owner-history"')[1].split("</ul>")[0]
    assert "负责人历史" in card and "小美 → 小丽" in card and "王老板" in card


@pytest.mark.django_db
def test_saving_the_form_without_changing_the_owner_writes_no_history(org, owner, staff_a):
    her = make_customer(org, owner=staff_a)
    assert do_change_owner(her, staff_a, actor=owner, reason="manual") == 0
    assert not OwnershipChange.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_merge_gives_the_kept_customer_the_duplicates_owner_recorded(org, owner, staff_a):
    keep = make_customer(org, name="陈静", owner=None)
    dup = make_customer(org, name="陈静", owner=staff_a)
    task = make_task(keep, None, script="您好，我是万达店的。")
    do_merge_customers(keep=keep, duplicate=dup, actor=owner)
    keep.refresh_from_db()
    task.refresh_from_db()
    assert keep.owner == staff_a and task.assignee == staff_a
    change = OwnershipChange.objects.get(customer=keep, reason="merge")
    assert (change.from_owner, change.to_owner) == (None, staff_a)
    assert AuditEntry.objects.filter(action="owner_change", detail__reason="merge").count() == 1


@pytest.mark.django_db
def test_handover_asks_first_showing_what_will_move(client, owner, org, staff_a, staff_b):
    hers = [make_customer(org, name=f"客{i}", owner=staff_a) for i in range(3)]
    make_customer(org, name="别人的", owner=staff_b)
    tasks = [make_task(c, staff_a, script=SIGNED.format("小美")) for c in hers[:2]]
    client.force_login(owner)
    body = {"from_staff": str(staff_a.pk), "to_staff": [str(staff_b.pk)]}
    first = client.post("/accounts/handover/", body, headers={"Accept-Language": "zh-hans"})
    assert first.status_code == 200
    preview = first.context["preview"]
    assert (preview["customers"], preview["tasks"]) == (3, 2)
    html = first.content.decode()
    assert "3 位" in html and "2 个" in html and 'data-testid="confirm-handover"' in html
    assert Customer.objects.filter(owner=staff_a).count() == 3  # nothing moved yet
    assert not AuditEntry.objects.filter(action__in=["handover", "owner_change"]).exists()

    second = client.post("/accounts/handover/", {**body, "confirm": "1"})
    assert second.status_code == 302
    assert Customer.objects.filter(owner=staff_a).count() == 0
    for task in tasks:
        task.refresh_from_db()
        assert (task.assignee, task.script) == (staff_b, SIGNED.format("小丽"))
    assert OwnershipChange.objects.filter(reason="handover", to_owner=staff_b).count() == 3
    assert set(AuditEntry.objects.exclude(action="login").values_list("action", flat=True)) == {
        "handover",
        "owner_change",
    }
    assert not FollowUpTask.objects.filter(assignee=staff_a, status=TaskStatus.OPEN).exists()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_handover_confirmation_and_history_card_in_the_browser(page, owner, org, staff_a, staff_b):
    hers = [make_customer(org, name=f"客{i}", owner=staff_a) for i in range(2)]
    make_task(hers[0], staff_a, script=SIGNED.format("小美"))
    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/accounts/handover/")
    page.select_option("#id_from_staff", str(staff_a.pk))
    page.check(f"input[name=to_staff][value='{staff_b.pk}']")
    page.click("form.stacked button[type=submit]")
    confirm = page.inner_text("[data-testid=handover-confirm]")
    assert "2 位" in confirm and "1 个" in confirm
    assert Customer.objects.filter(owner=staff_a).count() == 2
    page.click("[data-testid=confirm-handover]")
    page.wait_for_url(page.base_url + "/accounts/staff/")
    assert Customer.objects.filter(owner=staff_b).count() == 2
    page.goto(page.base_url + f"/customers/{hers[0].pk}/")
    card = page.inner_text("[data-testid=owner-history]")
    assert "负责人历史" in card and "小美 → 小丽" in card and "交接" in card
    task = FollowUpTask.objects.get(customer=hers[0])
    assert task.assignee == staff_b and "小丽" in task.script

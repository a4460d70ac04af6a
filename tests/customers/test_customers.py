"""Customer actions: phones, scoping, handover, duplicates and merge, industry templates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from tests.helpers import make_customer, make_order

from huitouke.audit.models import AuditEntry
from huitouke.customers.actions import do_add_interaction, do_update_customer
from huitouke.customers.archive_fields import apply_industry_template
from huitouke.customers.duplicates import do_merge_customers, possible_duplicates
from huitouke.customers.models import Customer, CustomField, OwnershipChange
from huitouke.customers.ownership import do_hand_over_customers, unowned_customers
from huitouke.customers.phones import mask_phone, normalise_phone
from huitouke.sales.models import Order


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812341234", "+8613812341234"),
        ("138 1234 1234", "+8613812341234"),
        ("+86 138-1234-1234", "+8613812341234"),
        ("１３８１２３４１２３４", "+8613812341234"),
        ("", ""),
    ],
)
def test_phones_are_normalised(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "abc", "1381234123"])
def test_invalid_phones_name_the_value(raw):
    with pytest.raises(ValidationError) as err:
        normalise_phone(raw)
    assert raw in str(err.value.messages)


def test_mask():
    assert mask_phone("+8613812341234") == "138****1234"


def test_duplicate_phone_is_refused_with_the_other_customers_name(org):
    make_customer(org, name="王芳", phone="13812341234")
    with pytest.raises(ValidationError, match="王芳"):
        make_customer(org, name="另一个", phone="138 1234 1234")
    assert Customer.objects.filter(name="另一个").count() == 0


def test_same_phone_allowed_in_another_organisation(org, other_org):
    make_customer(org, phone="13812341234")
    make_customer(other_org, phone="13812341234")


def test_visible_to_follows_the_roles(
    org, store1, store2, owner, manager, staff_a, staff_b, staff_c, other_owner
):
    a = make_customer(org, owner=staff_a, home_store=store1)
    b = make_customer(org, owner=staff_b, home_store=store1)
    c = make_customer(org, owner=staff_c, home_store=store2)
    nobody = make_customer(org, owner=None, home_store=store2)
    visible = lambda u: set(Customer.objects.visible_to(u).values_list("pk", flat=True))  # noqa: E731
    assert visible(owner) == {a.pk, b.pk, c.pk, nobody.pk}
    assert visible(manager) == {a.pk, b.pk}
    assert visible(staff_a) == {a.pk}
    assert visible(staff_c) == {c.pk}
    assert visible(other_owner) == set()
    assert set(unowned_customers(org).values_list("pk", flat=True)) == {nobody.pk}


def test_handover_to_one_and_spread_over_several(org, owner, staff_a, staff_b, staff_c):
    ids = [make_customer(org, owner=staff_a).pk for _ in range(5)]
    moved = do_hand_over_customers(from_staff=staff_a, to_staff=[staff_b, staff_c], actor=owner)
    assert moved == 5
    owners = list(Customer.objects.filter(pk__in=ids).values_list("owner_id", flat=True))
    assert sorted([owners.count(staff_b.pk), owners.count(staff_c.pk)]) == [2, 3]
    assert OwnershipChange.objects.filter(reason="handover", from_owner=staff_a).count() == 5
    assert AuditEntry.objects.filter(action="handover", actor=owner).count() == 1


def test_handover_to_herself_is_refused(org, owner, staff_a):
    make_customer(org, owner=staff_a)
    with pytest.raises(ValidationError):
        do_hand_over_customers(from_staff=staff_a, to_staff=[staff_a], actor=owner)


def test_merge_moves_orders_interactions_tags_and_is_audited(org, store1, owner, staff_a):
    keep = make_customer(org, name="陈静", phone="13800000001", city="杭州", tags=["VIP"])
    dup = make_customer(
        org, name="陈静", phone="13800000002", city="杭州", wechat_id="cj88", tags=["敏感肌"]
    )
    make_order(keep, store1, unit_price="100.00")
    make_order(dup, store1, unit_price="50.00")
    do_add_interaction(dup, actor=staff_a, kind="call", note="回访")
    assert any({a.pk, b.pk} == {keep.pk, dup.pk} for a, b, _ in possible_duplicates(org))
    do_merge_customers(keep=keep, duplicate=dup, actor=owner)
    keep.refresh_from_db()
    dup.refresh_from_db()
    assert dup.merged_into_id == keep.pk and dup.phone is None
    assert Order.objects.filter(customer=keep).count() == 2
    assert keep.interactions.count() == 1
    assert {t.name for t in keep.tags.all()} == {"VIP", "敏感肌"}
    assert keep.wechat_id == "cj88"
    assert keep.stats.orders_count == 2 and keep.stats.net_spend == Decimal("150.00")
    assert not Customer.objects.visible_to(owner).filter(pk=dup.pk).exists()
    assert AuditEntry.objects.filter(action="merge", object_id=str(keep.pk)).exists()


def test_duplicates_by_wechat_id(org):
    a = make_customer(org, wechat_id="rose01")
    b = make_customer(org, wechat_id="rose01", name="另一个名字")
    assert (a.pk, b.pk, "wechat") in [(x.pk, y.pk, r) for x, y, r in possible_duplicates(org)]


def test_owner_change_is_kept_in_history(org, owner, staff_a, staff_b):
    c = make_customer(org, owner=staff_a)
    do_update_customer(c, actor=owner, owner=staff_b)
    change = OwnershipChange.objects.get(customer=c)
    assert (change.from_owner_id, change.to_owner_id, change.reason) == (
        staff_a.pk,
        staff_b.pk,
        "manual",
    )


def test_industry_template_is_idempotent(org):
    created = apply_industry_template(org, "beauty")
    assert created > 10
    assert apply_industry_template(org, "beauty") == 0
    assert CustomField.objects.filter(organisation=org, key="skin_type").exists()

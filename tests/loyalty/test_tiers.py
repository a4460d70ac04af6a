"""Tiers follow trailing-12-month net spend: up and down on orders, refunds and nightly; history; the gap."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from tests.helpers import make_customer, make_order

from huitouke.loyalty.models import LoyaltyAccount, Tier, TierChange
from huitouke.loyalty.program import do_reevaluate_tiers, do_update_program, ensure_program
from huitouke.loyalty.queries import customer_panel_context, tier_progress
from huitouke.sales.actions import do_refund_order
from huitouke.sales.models import Order

PO = (
    Path(__file__).resolve().parents[2]
    / "src/huitouke/loyalty/locale/zh_Hans/LC_MESSAGES/django.po"
)


def tier_name(customer) -> str | None:
    account = LoyaltyAccount.objects.select_related("tier").get(pk=customer.pk)
    return account.tier.name if account.tier else None


def test_default_tiers(org):
    ensure_program(org)
    tiers = [
        (t.name, t.threshold, t.price_rate, t.discount_label)
        for t in Tier.objects.filter(organisation=org)
    ]
    assert tiers == [
        ("Regular", Decimal("0.00"), Decimal("1.000"), ""),
        ("Silver", Decimal("300.00"), Decimal("0.950"), "9.5折"),
        ("Gold", Decimal("1000.00"), Decimal("0.880"), "8.8折"),
        ("Diamond", Decimal("5000.00"), Decimal("0.850"), "8.5折"),
    ]


def test_orders_and_refunds_move_the_tier_up_and_down_with_history(org, store1, owner):
    c = make_customer(org)
    make_order(c, store1, unit_price="290.00")
    assert tier_name(c) == "Regular"
    big = make_order(c, store1, unit_price="710.00")  # 1000 in 12 months
    assert tier_name(c) == "Gold"
    do_refund_order(order=big, actor=owner, amount="10.00")  # 990
    assert tier_name(c) == "Silver"
    history = list(
        TierChange.objects.filter(customer=c)
        .order_by("id")
        .values_list("from_name", "to_name", "spend_12m", "reason")
    )
    assert history == [
        ("", "Regular", Decimal("290.00"), "order"),
        ("Regular", "Gold", Decimal("1000.00"), "order"),
        ("Gold", "Silver", Decimal("990.00"), "refund"),
    ]


def test_gap_to_the_next_tier(org, store1):
    c = make_customer(org)
    make_order(c, store1, unit_price="990.00")
    progress = tier_progress(c)
    assert (progress["tier"].name, progress["next_tier"].name, progress["gap"]) == (
        "Silver",
        "Gold",
        Decimal("10.00"),
    )
    assert progress["gap_message"] == "Spend 10 yuan more to reach Gold"
    make_order(c, store1, unit_price="4010.50")
    assert tier_progress(c)["gap_message"] == ""  # 5000.50: the top tier
    assert customer_panel_context(c)["loyalty_tier"].name == "Diamond"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_the_gap_reads_naturally_in_chinese(tmp_path):
    mo = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(PO)], check=True)
    with mo.open("rb") as f:
        zh = gettext.GNUTranslations(f)
    text = zh.gettext("Spend %(amount)s yuan more to reach %(tier)s") % {
        "amount": "10",
        "tier": zh.gettext("Gold"),
    }
    assert text == "再消费10元即可升级金卡"


def test_nightly_run_downgrades_when_spend_leaves_the_window(org, store1):
    now = timezone.now()
    c = make_customer(org)
    make_order(c, store1, unit_price="1000.00", placed_at=now - timedelta(days=360))
    stay = make_customer(org)
    make_order(stay, store1, unit_price="1000.00", placed_at=now - timedelta(days=300))
    assert (tier_name(c), tier_name(stay)) == ("Gold", "Gold")
    assert do_reevaluate_tiers(now=now + timedelta(days=10)) == 1
    assert (tier_name(c), tier_name(stay)) == ("Regular", "Gold")
    assert TierChange.objects.filter(customer=c, reason="nightly").get().to_name == "Regular"
    assert do_reevaluate_tiers(now=now + timedelta(days=10)) == 0  # idempotent


def test_nightly_run_gives_customers_from_before_the_program_their_tier(org, store1):
    c = make_customer(org)
    Order.objects.create(
        organisation=org,
        store=store1,
        customer=c,
        gross_amount=Decimal("400"),
        net_paid=Decimal("400"),
    )
    assert not LoyaltyAccount.objects.filter(pk=c.pk).exists()
    ensure_program(org)
    do_reevaluate_tiers()
    assert tier_name(c) == "Silver"


def test_changing_thresholds_reevaluates_members(
    org, store1, owner, huey_immediate, django_capture_on_commit_callbacks
):
    c = make_customer(org)
    make_order(c, store1, unit_price="900.00")
    assert tier_name(c) == "Silver"
    rules = ensure_program(org)
    gold = Tier.objects.get(organisation=org, name="Gold")
    gold.threshold = Decimal("800")
    with django_capture_on_commit_callbacks(execute=True):
        do_update_program(rules, tiers=[gold], actor=owner)
    assert tier_name(c) == "Gold"

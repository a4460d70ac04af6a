"""The built-in SOPs of DESIGN §6, created for every organisation on the engine's first run.

They are ordinary rows afterwards: the owner may change the threshold, delay, kind, script and
who does it, or switch a rule off; the `code` only keeps them from being created twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from huitouke.accounts.models import Organisation
from huitouke.followups.models import AssignTo, SopRule, TaskKind, Trigger

BIG_ORDER = "big_order"
NEW_CUSTOMER = "new_customer"
CARE = "care"
RECOMMENDATION = "recommendation"
INCENTIVE = "incentive"
VIP_BIRTHDAY = "vip_birthday"
WIN_BACK = "win_back"

BUILT_IN: tuple[dict[str, Any], ...] = (
    {
        "code": BIG_ORDER,
        "name": "大单回访（24小时内电话）",
        "trigger": Trigger.ORDER_PAID_OVER,
        "threshold": Decimal("1000"),
        "delay_hours": 24,
        "kind": TaskKind.CALL,
        "script_template": (
            "{{ salutation }}您好，我是{{ store }}的{{ staff }}。感谢您选购"
            "{% if last_purchase %}{{ last_purchase }}{% else %}我们的产品{% endif %}，"
            "使用中有任何问题随时找我，我一直都在。\n（先打电话，未接通再发微信。）"
        ),
    },
    {
        "code": NEW_CUSTOMER,
        "name": "新客2小时内跟进",
        "trigger": Trigger.CUSTOMER_CREATED,
        "delay_hours": 2,
        "kind": TaskKind.WECHAT,
        "script_template": (
            "{{ salutation }}您好，我是{{ store }}的{{ staff }}，很高兴认识您！"
            "以后有任何需要，直接微信找我就好。"
        ),
    },
    {
        "code": CARE,
        "name": "首单关怀（第0–5天）",
        "trigger": Trigger.DAYS_AFTER_FIRST_ORDER,
        "window_start_days": 0,
        "window_end_days": 5,
        "delay_hours": 0,
        "kind": TaskKind.WECHAT,
        "script_template": (
            "{{ salutation }}您好，{% if last_purchase %}{{ last_purchase }}{% else %}上次买的产品"
            "{% endif %}用得还习惯吗？有任何问题随时告诉我。"
        ),
    },
    {
        "code": RECOMMENDATION,
        "name": "首单推荐（第5–30天）",
        "trigger": Trigger.DAYS_AFTER_FIRST_ORDER,
        "window_start_days": 5,
        "window_end_days": 30,
        "delay_hours": 0,
        "kind": TaskKind.WECHAT,
        "script_template": (
            "{{ salutation }}您好，根据您上次选的{{ last_purchase|default:'产品' }}，"
            "店里新到了几款很适合您的搭配，有空来{{ store }}看看？"
        ),
    },
    {
        "code": INCENTIVE,
        "name": "首单激励（第30–45天）",
        "trigger": Trigger.DAYS_AFTER_FIRST_ORDER,
        "window_start_days": 30,
        "window_end_days": 45,
        "delay_hours": 0,
        "kind": TaskKind.WECHAT,
        "script_template": (
            "{{ salutation }}您好，{% if points %}您有{{ points }}积分可以抵现，{% endif %}"
            "本月再来{{ store }}还有老顾客专属优惠，期待您再来！"
        ),
    },
    {
        "code": VIP_BIRTHDAY,
        "name": "VIP生日手写贺卡",
        "trigger": Trigger.VIP_BIRTHDAY,
        # A VIP: 12-month spend of at least the 金卡 threshold of the default tiers.
        "threshold": Decimal("1000"),
        "days": 7,
        "delay_hours": 0,
        "kind": TaskKind.CARD,
        "script_template": (
            "亲爱的{{ salutation }}：\n祝您生日快乐，越来越美！感谢一直以来的信任与陪伴。\n"
            "——{{ store }} {{ staff }}"
        ),
    },
    {
        "code": WIN_BACK,
        "name": "重要挽留客户电话回访",
        "trigger": Trigger.RFM_SEGMENT_ENTERED,
        "rfm_segment": "big_spenders_at_risk",
        "delay_hours": 48,
        "kind": TaskKind.CALL,
        "script_template": (
            "{{ salutation }}您好，好久不见！我是{{ store }}的{{ staff }}。"
            "您上次买的{{ last_purchase|default:'产品' }}用完了吗？最近店里有新品，"
            "特别给您这样的老顾客留了礼遇，有空来坐坐。"
        ),
    },
)


def ensure_default_rules(organisation: Organisation) -> int:
    """Create the built-in rules the organisation lacks; safe to run on several workers at once."""
    have = set(
        SopRule.objects.filter(organisation=organisation)
        .exclude(code="")
        .values_list("code", flat=True)
    )
    missing = [
        SopRule(organisation=organisation, assign_to=AssignTo.CUSTOMER_OWNER, **spec)
        for spec in BUILT_IN
        if spec["code"] not in have
    ]
    if missing:
        # A concurrent worker may insert the same codes: the (organisation, code) constraint
        # turns the second insert into nothing.
        SopRule.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)

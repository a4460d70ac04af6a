"""Ready-made rules for the seed's scenarios, each switched on with one click.

Enabling a template creates what it needs once (its message texts, its coupon) and a rule the
owner can edit afterwards; enabling it again switches the same rule back on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy, pgettext

from huitouke.accounts.models import Organisation
from huitouke.automation.actions import do_save_rule, do_set_rule_active, new_rule
from huitouke.automation.models import AutomationRule, Trigger
from huitouke.loyalty.coupons import do_save_template as save_coupon
from huitouke.loyalty.models import CouponTemplate, Validity
from huitouke.messaging.models import Channel, MessageTemplate
from huitouke.messaging.setup_actions import do_save_template

IMPORTANT = {
    "version": 1,
    "match": "all",
    "conditions": [{"field": "value_class", "op": "in", "value": ["A", "B"]}],
}
VIP = {
    "version": 1,
    "match": "all",
    "conditions": [{"field": "value_class", "op": "in", "value": ["A"]}],
}


@dataclass(frozen=True)
class CouponSpec:
    name: str
    kind: str
    amount: str
    threshold: str = "0"
    valid_days: int = 30
    per_customer_limit: int | None = None


@dataclass(frozen=True)
class RuleTemplate:
    """One ready-made rule; `messages` are (code, channel, subject, text) created on enabling."""

    code: str
    name: Any
    description: Any
    trigger: str
    params: dict[str, Any]
    messages: tuple[tuple[str, str, str, str], ...] = ()
    coupon: CouponSpec | None = None
    task: dict[str, Any] | None = None
    conditions: dict[str, Any] = field(default_factory=dict)
    delay_minutes: int = 0
    is_marketing: bool = True
    cap_exempt: bool = False
    holdout_share: str = "0.10"


TEMPLATES: tuple[RuleTemplate, ...] = (
    RuleTemplate(
        code="welcome_coupon",
        name=gettext_lazy("New-customer welcome coupon"),
        description=gettext_lazy(
            "10 minutes after sign-up: a ¥20 coupon by SMS (else a staff task)."
        ),
        trigger=Trigger.CUSTOMER_CREATED,
        params={},
        delay_minutes=10,
        coupon=CouponSpec("新客礼券", "no_threshold", "20", per_customer_limit=1),
        messages=(
            (
                "welcome_sms",
                Channel.SMS,
                "",
                "{{ salutation }}，欢迎成为{{ store }}的会员！送您{{ coupon_value }}券，券码{{ coupon_code }}，30天内有效。",
            ),
            (
                "welcome_task",
                Channel.TASK,
                "新客欢迎",
                "欢迎{{ salutation }}，告诉她已送{{ coupon_value }}券（券码{{ coupon_code }}）。",
            ),
        ),
    ),
    RuleTemplate(
        code="birthday_coupon",
        name=gettext_lazy("Birthday wish with a coupon"),
        description=gettext_lazy(
            "On her birthday (solar or lunar) at 09:00: a wish and a 满100减30 coupon by SMS, else email."
        ),
        trigger=Trigger.BIRTHDAY,
        params={"days_before": 0, "hour": 9},
        coupon=CouponSpec("生日礼券", "amount_off", "30", threshold="100"),
        messages=(
            (
                "birthday_sms",
                Channel.SMS,
                "",
                "{{ salutation }}，生日快乐！{{ store }}送上{{ coupon_value }}生日券，券码{{ coupon_code }}，祝您美丽每一天。",
            ),
            (
                "birthday_email",
                Channel.EMAIL,
                "{{ salutation }}，生日快乐！",
                "{{ salutation }}：\n\n生日快乐！{{ store }}为您准备了{{ coupon_value }}生日券，券码 {{ coupon_code }}，30天内有效。\n\n{{ store }}",
            ),
        ),
        cap_exempt=True,
    ),
    RuleTemplate(
        code="winback_important",
        name=gettext_lazy("Win back a silent important customer"),
        description=gettext_lazy(
            "When an A/B-class customer turns silent: a 满200减50 coupon by SMS."
        ),
        trigger=Trigger.SEGMENT_CHANGED,
        params={"field": "lifecycle", "to": "silent", "hour": 10},
        conditions=IMPORTANT,
        coupon=CouponSpec("回归礼券", "amount_off", "50", threshold="200"),
        messages=(
            (
                "winback_sms",
                Channel.SMS,
                "",
                "{{ salutation }}，好久不见，{{ store }}想您了！送您{{ coupon_value }}券，券码{{ coupon_code }}，30天内有效。",
            ),
        ),
    ),
    RuleTemplate(
        code="repurchase_reminder",
        name=gettext_lazy("Due-for-repurchase reminder"),
        description=gettext_lazy("When she is due to buy a category again: a reminder by SMS."),
        trigger=Trigger.REPURCHASE_DUE,
        params={"category": None, "hour": 10},
        messages=(
            (
                "repurchase_sms",
                Channel.SMS,
                "",
                "{{ salutation }}，您上次在{{ store }}买的产品快用完了吧？欢迎回来补货，会员积分{{ points }}可抵现。",
            ),
        ),
    ),
    RuleTemplate(
        code="near_tier_nudge",
        name=gettext_lazy("Close to the next tier"),
        description=gettext_lazy(
            "Within ¥50 of the next tier: “spend ¥10 more to reach Gold” by SMS."
        ),
        trigger=Trigger.NEAR_NEXT_TIER,
        params={"within": "50", "hour": 10},
        messages=(
            (
                "near_tier_sms",
                Channel.SMS,
                "",
                "{{ salutation }}，再消费{{ next_tier_gap }}元即可升级{{ next_tier }}，享更多会员礼遇！",
            ),
        ),
    ),
    RuleTemplate(
        code="festival_greeting",
        name=gettext_lazy("Festival greeting"),
        description=gettext_lazy("Spring Festival and Mid-Autumn: a greeting by SMS at 09:00."),
        trigger=Trigger.FESTIVAL,
        params={"festivals": ["spring_festival", "mid_autumn"], "days_before": 0, "hour": 9},
        messages=(
            (
                "festival_sms",
                Channel.SMS,
                "",
                "{{ salutation }}，{{ store }}祝您节日快乐，阖家幸福！",
            ),
        ),
        cap_exempt=True,
        holdout_share="0",
    ),
    RuleTemplate(
        code="vip_birthday_card",
        name=gettext_lazy("VIP birthday card"),
        description=gettext_lazy(
            "A week before an A-class customer's birthday: a handwritten-card task for her owner."
        ),
        trigger=Trigger.BIRTHDAY,
        params={"days_before": 7, "hour": 9},
        conditions=VIP,
        task={
            "kind": "card",
            "title": "VIP生日贺卡",
            "script": "给{{ salutation }}写一张生日贺卡，生日在一周后。",
            "due_hours": 72,
        },
        is_marketing=False,
        holdout_share="0",
    ),
)
BY_CODE: dict[str, RuleTemplate] = {t.code: t for t in TEMPLATES}


def _message_template(
    organisation: Organisation,
    code: str,
    channel: str,
    subject: str,
    body: str,
    actor: Any,
    rule_name: str = "",
) -> MessageTemplate:
    found = MessageTemplate.objects.filter(organisation=organisation, code=code).first()
    if found is not None:
        return found
    # Named as people read it: the ready-made rule's name and the channel, never the text's
    # {{ variables }} or the preset's code.
    label = Channel(channel).label if channel in Channel.values else ""
    name = (
        pgettext("template name", "%(rule)s (%(channel)s)") % {"rule": rule_name, "channel": label}
    )[:96]
    taken = set(
        MessageTemplate.objects.filter(organisation=organisation).values_list("name", flat=True)
    )
    name = next(n for n in (name, *(f"{name} {i}" for i in range(2, 999))) if n not in taken)
    template = MessageTemplate(
        organisation=organisation,
        code=code,
        name=name,
        channel=channel,
        subject=subject,
        body=body,
    )
    return do_save_template(template, actor=actor)


def _coupon_template(organisation: Organisation, spec: CouponSpec, actor: Any) -> Any:

    found = CouponTemplate.objects.filter(organisation=organisation, name=spec.name).first()
    if found is not None:
        return found
    return save_coupon(
        CouponTemplate(
            organisation=organisation,
            name=spec.name,
            kind=spec.kind,
            amount=Decimal(spec.amount),
            threshold=Decimal(spec.threshold),
            validity=Validity.DAYS,
            valid_days=spec.valid_days,
            per_customer_limit=spec.per_customer_limit,
        ),
        actor=actor,
    )


def enable_template(
    organisation: Organisation, code: str, *, actor: Any, request: Any = None
) -> AutomationRule:
    """Create (or switch back on) the organisation's rule from a ready-made template."""
    spec = BY_CODE[code]
    existing = AutomationRule.objects.filter(organisation=organisation, template_code=code).first()
    if existing is not None:
        return do_set_rule_active(existing, True, actor=actor, request=request)
    with transaction.atomic():
        actions: list[dict[str, Any]] = []
        if spec.coupon is not None:
            coupon = _coupon_template(organisation, spec.coupon, actor)
            actions.append({"type": "issue_coupon", "coupon_template": coupon.pk})
        templates = [
            _message_template(organisation, *message, actor=actor, rule_name=str(spec.name))
            for message in spec.messages
        ]
        if templates:
            send: dict[str, Any] = {
                "type": "send_message",
                "channel": templates[0].channel,
                "template": templates[0].pk,
            }
            if len(templates) > 1:
                send.update(
                    fallback_channel=templates[1].channel, fallback_template=templates[1].pk
                )
            actions.append(send)
        if spec.task is not None:
            actions.append({"type": "create_task", **spec.task})
        name = str(spec.name)
        taken = set(
            AutomationRule.objects.filter(
                organisation=organisation, name__startswith=name
            ).values_list("name", flat=True)
        )
        suffix = 2
        while name in taken:
            name = f"{spec.name} ({suffix})"
            suffix += 1
        rule = new_rule(
            organisation,
            name=name,
            template_code=code,
            trigger=spec.trigger,
            params=dict(spec.params),
            conditions=dict(spec.conditions),
            delay_minutes=spec.delay_minutes,
            actions=actions,
            is_marketing=spec.is_marketing,
            cap_exempt=spec.cap_exempt,
            holdout_share=Decimal(spec.holdout_share),
            is_active=True,
        )
        return do_save_rule(rule, actor=actor, request=request)


def template_choices(
    organisation: Organisation,
) -> list[tuple[RuleTemplate, AutomationRule | None]]:
    """Every ready-made template with the organisation's rule made from it, if any."""
    made = {
        r.template_code: r
        for r in AutomationRule.objects.filter(organisation=organisation).exclude(template_code="")
    }
    return [(t, made.get(t.code)) for t in TEMPLATES]

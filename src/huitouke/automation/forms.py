"""The rule editor and the campaign form: plain fields that become a rule's params and actions."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huitouke.accounts.models import Organisation
from huitouke.analytics.models import Lifecycle, RfmSegment
from huitouke.automation.models import AutomationRule, Trigger
from huitouke.automation.triggers import BUILT_IN_FESTIVALS
from huitouke.loyalty.models import CouponTemplate
from huitouke.messaging.models import Channel, MessageTemplate
from huitouke.sales.models import Category
from huitouke.sales.phases import Phase
from huitouke.segments.models import Segment

FESTIVAL_LABELS = {
    "new_year": _("New Year's Day (元旦)"),
    "spring_festival": _("Spring Festival (春节)"),
    "lantern_festival": _("Lantern Festival (元宵)"),
    "womens_day": _("Women's Day (妇女节)"),
    "day_520": "520",
    "dragon_boat": _("Dragon Boat (端午)"),
    "qixi": _("Qixi (七夕)"),
    "mid_autumn": _("Mid-Autumn (中秋)"),
    "double_ninth": _("Double Ninth (重阳)"),
    "valentines_day": _("Valentine's Day (情人节)"),
    "new_years_eve": _("Chinese New Year's Eve (除夕)"),
    "mothers_day": _("Mother's Day (母亲节)"),
    "day_618": "618",
    "fathers_day": _("Father's Day (父亲节)"),
    "teachers_day": _("Teachers' Day (教师节)"),
    "national_day": _("National Day (国庆)"),
    "double_11": _("Singles' Day (双十一)"),
    "double_12": _("12.12 (双十二)"),
    "christmas": _("Christmas (圣诞)"),
}
# Weekday words an owner may write in an own date ("母亲节,5,2,周日": 2nd Sunday of May).
WEEKDAY_WORDS = {
    word: number
    for number, words in enumerate(
        (
            ("周一", "星期一", "mon", "monday"),
            ("周二", "星期二", "tue", "tuesday"),
            ("周三", "星期三", "wed", "wednesday"),
            ("周四", "星期四", "thu", "thursday"),
            ("周五", "星期五", "fri", "friday"),
            ("周六", "星期六", "sat", "saturday"),
            ("周日", "周天", "星期日", "星期天", "sun", "sunday"),
        )
    )
    for word in words
}
WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_NONE: Any = MessageTemplate.objects.none()  # replaced per organisation in __init__


def _choices(form: forms.Form, name: str) -> forms.ModelChoiceField[Any]:
    return cast(forms.ModelChoiceField, form.fields[name])


CHANNEL_CHOICES = [("", "—"), *Channel.choices]
TASK_KIND_LABELS = {
    "call": _("Call"),
    "wechat": _("WeChat"),
    "visit": _("Visit"),
    "gift": _("Gift"),
    "card": _("Handwritten card"),
    "other": _("Other"),
}
ASSIGN_LABELS = {
    "customer_owner": _("The customer's owner"),
    "store_manager": _("The manager of her store"),
    "org_owner": _("The owner (boss)"),
}


class RuleForm(forms.Form):
    """Every part of a rule on one page; `to_rule` turns it into params and actions."""

    name = forms.CharField(label=_("Name"), max_length=100)
    trigger = forms.ChoiceField(
        label=pgettext_lazy("trigger", "When"),
        choices=[c for c in Trigger.choices if c[0] != Trigger.MANUAL],
    )
    # Trigger settings (only those of the chosen trigger are used).
    days_before = forms.IntegerField(
        label=_("Days before"), min_value=0, max_value=60, required=False
    )
    hour = forms.IntegerField(label=_("At hour (local)"), min_value=0, max_value=23, required=False)
    days = forms.IntegerField(
        label=_("Days since the last order"), min_value=1, max_value=3650, required=False
    )
    within = forms.DecimalField(
        label=_("Within (yuan) of the next tier"),
        min_value=0,
        max_digits=10,
        decimal_places=2,
        required=False,
    )
    festivals = forms.MultipleChoiceField(
        label=_("Festivals"),
        choices=[(c, FESTIVAL_LABELS[c]) for c in BUILT_IN_FESTIVALS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    custom_dates = forms.CharField(
        label=_("Own dates"),
        required=False,
        help_text=_(
            "One per line: name, month, day, and “农历” for a lunar date, e.g. 店庆,6,18 or "
            "生日会,8,15,农历; for the n-th weekday of a month: 会员日,5,2,周日 (2nd Sunday of May)"
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=_NONE, required=False, empty_label=_("Any category")
    )
    phase = forms.ChoiceField(label=_("Phase"), choices=[("", "—"), *Phase.choices], required=False)
    segment_field = forms.ChoiceField(
        label=_("Which"),
        choices=[("lifecycle", _("Lifecycle")), ("rfm_segment", _("RFM segment"))],
        required=False,
    )
    segment_to = forms.ChoiceField(
        label=_("Changed to"),
        choices=[("", "—"), *Lifecycle.choices, *RfmSegment.choices],
        required=False,
    )
    min_amount = forms.DecimalField(
        label=_("Order of at least (yuan)"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
    )
    first_order_only = forms.BooleanField(label=_("First order only"), required=False)
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=[("up", _("Up")), ("down", _("Down")), ("any", _("Either"))],
        required=False,
    )
    # Conditions.
    segment = forms.ModelChoiceField(
        label=_("Only customers in segment"), queryset=_NONE, required=False
    )
    conditions = forms.CharField(
        label=_("Extra conditions (segment JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    delay_minutes = forms.IntegerField(
        label=_("Wait (minutes) before acting"), min_value=0, max_value=525600, initial=0
    )
    # Actions.
    message_channel = forms.ChoiceField(label=_("Send on"), choices=CHANNEL_CHOICES, required=False)
    message_template = forms.ModelChoiceField(label=_("Message"), queryset=_NONE, required=False)
    fallback_channel = forms.ChoiceField(
        label=_("Else on"), choices=CHANNEL_CHOICES, required=False
    )
    fallback_template = forms.ModelChoiceField(
        label=_("Fallback message"), queryset=_NONE, required=False
    )
    coupon_template = forms.ModelChoiceField(
        label=_("Issue coupon"), queryset=_NONE, required=False
    )
    task_kind = forms.ChoiceField(
        label=_("Follow-up task"), choices=[("", "—"), *TASK_KIND_LABELS.items()], required=False
    )
    task_assign_to = forms.ChoiceField(
        label=_("Task for"), choices=list(ASSIGN_LABELS.items()), required=False
    )
    task_title = forms.CharField(label=_("Task title"), max_length=100, required=False)
    task_script = forms.CharField(
        label=_("Task script"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    add_tag = forms.CharField(label=_("Add tag"), max_length=30, required=False)
    remove_tag = forms.CharField(label=_("Remove tag"), max_length=30, required=False)
    points = forms.IntegerField(
        label=_("Award points"), min_value=1, max_value=1_000_000, required=False
    )
    # Controls.
    is_marketing = forms.BooleanField(
        label=_("Marketing (frequency cap, consent, holdout)"), required=False, initial=True
    )
    cap_exempt = forms.BooleanField(
        label=_("Care message: exempt from the frequency cap"), required=False
    )
    holdout_percent = forms.DecimalField(
        label=_("Holdout (%)"),
        min_value=0,
        max_value=50,
        max_digits=4,
        decimal_places=1,
        initial=10,
    )
    quiet_start = forms.TimeField(label=_("Quiet hours from"), required=False, initial="21:00")
    quiet_end = forms.TimeField(label=_("until"), required=False, initial="09:00")
    active_from = forms.DateField(
        label=_("Active from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    active_until = forms.DateField(
        label=_("Active until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    is_active = forms.BooleanField(label=_("On"), required=False)

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        self.organisation = organisation
        templates = MessageTemplate.objects.filter(organisation=organisation)
        _choices(self, "message_template").queryset = templates
        _choices(self, "fallback_template").queryset = templates
        _choices(self, "coupon_template").queryset = CouponTemplate.objects.filter(
            organisation=organisation, is_active=True
        )
        _choices(self, "category").queryset = Category.objects.filter(organisation=organisation)
        _choices(self, "segment").queryset = Segment.objects.filter(organisation=organisation)

    @classmethod
    def initial_for(cls, rule: AutomationRule) -> dict[str, Any]:
        """The form's initial values for an existing rule."""
        p = rule.params or {}
        initial: dict[str, Any] = {
            "name": rule.name,
            "trigger": rule.trigger,
            "segment": rule.segment_id,
            "conditions": json.dumps(rule.conditions, ensure_ascii=False)
            if rule.conditions
            else "",
            "delay_minutes": rule.delay_minutes,
            "is_marketing": rule.is_marketing,
            "cap_exempt": rule.cap_exempt,
            # One decimal, as the field takes it: 0.10 is "10.0", not "10.00" (which the field
            # would refuse, so a saved rule could not be saved again or previewed).
            "holdout_percent": (rule.holdout_share * 100).quantize(Decimal("0.1")),
            "quiet_start": rule.quiet_start,
            "quiet_end": rule.quiet_end,
            "active_from": rule.active_from,
            "active_until": rule.active_until,
            "is_active": rule.is_active,
            "days_before": p.get("days_before"),
            "hour": p.get("hour"),
            "days": p.get("days"),
            "within": p.get("within"),
            "festivals": p.get("festivals", []),
            "category": p.get("category"),
            "phase": p.get("phase"),
            "segment_field": p.get("field"),
            "segment_to": p.get("to"),
            "min_amount": p.get("min_amount"),
            "first_order_only": p.get("first_order_only"),
            "direction": p.get("direction"),
            "custom_dates": "\n".join(_custom_line(c) for c in p.get("custom", [])),
        }
        for action in rule.actions:
            kind = action["type"]
            if kind == "send_message":
                initial.update(
                    message_channel=action["channel"],
                    message_template=action["template"],
                    fallback_channel=action.get("fallback_channel"),
                    fallback_template=action.get("fallback_template"),
                )
            elif kind == "issue_coupon":
                initial["coupon_template"] = action["coupon_template"]
            elif kind == "create_task":
                initial.update(
                    task_kind=action.get("kind"),
                    task_assign_to=action.get("assign_to"),
                    task_title=action.get("title"),
                    task_script=action.get("script"),
                )
            elif kind in ("add_tag", "remove_tag"):
                initial[kind] = action["tag"]
            elif kind == "award_points":
                initial["points"] = action["points"]
        return initial

    def clean_conditions(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("conditions") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON.")) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Give a JSON object."))
        return value

    def clean_custom_dates(self) -> list[dict[str, Any]]:
        dates = []
        for number, line in enumerate(
            (self.cleaned_data.get("custom_dates") or "").splitlines(), start=1
        ):
            parts = [p.strip() for p in line.replace("，", ",").split(",") if p.strip()]
            if not parts:
                continue
            words = [w.casefold() for w in parts[3:]]
            weekdays = [WEEKDAY_WORDS[w] for w in words if w in WEEKDAY_WORDS]
            try:
                dates.append(
                    {
                        "name": parts[0],
                        "month": int(parts[1]),
                        "day": int(parts[2]),
                        "lunar": "lunar" in words or "农历" in words,
                        "weekday": weekdays[0] if weekdays else None,
                    }
                )
            except (IndexError, ValueError) as exc:
                raise forms.ValidationError(
                    _("Line %(n)s: write name, month, day.") % {"n": number}
                ) from exc
        return dates

    def params(self) -> dict[str, Any]:
        """The trigger settings as the rule stores them (checked again by the action)."""
        d = self.cleaned_data
        raw = {
            "days_before": d.get("days_before"),
            "hour": d.get("hour"),
            "days": d.get("days"),
            "within": str(d["within"]) if d.get("within") is not None else None,
            "festivals": d.get("festivals") or [],
            "custom": d.get("custom_dates") or [],
            "category": d["category"].pk if d.get("category") else None,
            "phase": d.get("phase") or None,
            "field": d.get("segment_field") or "lifecycle",
            "to": d.get("segment_to") or "",
            "min_amount": str(d["min_amount"]) if d.get("min_amount") is not None else None,
            "first_order_only": d.get("first_order_only", False),
            "direction": d.get("direction") or "up",
        }
        return {k: v for k, v in raw.items() if v not in (None, "")}

    def actions(self) -> list[dict[str, Any]]:
        """The action list built from the action fields."""
        d = self.cleaned_data
        actions: list[dict[str, Any]] = []
        if d.get("coupon_template"):
            actions.append({"type": "issue_coupon", "coupon_template": d["coupon_template"].pk})
        if d.get("points"):
            actions.append({"type": "award_points", "points": d["points"]})
        if d.get("add_tag"):
            actions.append({"type": "add_tag", "tag": d["add_tag"]})
        if d.get("remove_tag"):
            actions.append({"type": "remove_tag", "tag": d["remove_tag"]})
        # 员工任务 as the channel: a follow-up task for her owner, no message template asked.
        as_task = d.get("message_channel") == Channel.TASK and not d.get("message_template")
        if d.get("task_kind") or as_task:
            actions.append(
                {
                    "type": "create_task",
                    "kind": d.get("task_kind") or "call",
                    "assign_to": d.get("task_assign_to") or "customer_owner",
                    "title": d.get("task_title") or (d.get("name") or "" if as_task else ""),
                    "script": d.get("task_script") or "",
                }
            )
        if (d.get("message_channel") or d.get("message_template")) and not as_task:
            template = d.get("message_template")
            actions.append(
                {
                    "type": "send_message",
                    "channel": d.get("message_channel") or (template.channel if template else ""),
                    "template": template.pk if template else None,
                    "fallback_channel": d.get("fallback_channel") or "",
                    "fallback_template": d["fallback_template"].pk
                    if d.get("fallback_template")
                    else None,
                }
            )
        return actions

    def apply(self, rule: AutomationRule) -> AutomationRule:
        """Copy the cleaned form onto the rule (unsaved)."""
        d = self.cleaned_data
        rule.name = d["name"]
        rule.trigger = d["trigger"]
        rule.params = self.params()
        rule.segment = d.get("segment")
        rule.conditions = d.get("conditions") or {}
        rule.delay_minutes = d.get("delay_minutes") or 0
        rule.actions = self.actions()
        rule.is_marketing = bool(d.get("is_marketing"))
        rule.cap_exempt = bool(d.get("cap_exempt"))
        rule.holdout_share = (Decimal(d.get("holdout_percent") or 0) / 100).quantize(
            Decimal("0.01")
        )
        rule.quiet_start, rule.quiet_end = d.get("quiet_start"), d.get("quiet_end")
        rule.active_from, rule.active_until = d.get("active_from"), d.get("active_until")
        rule.is_active = bool(d.get("is_active"))
        return rule


class CampaignForm(forms.Form):
    """A one-off send to a segment: channel, message, optional coupon, when."""

    name = forms.CharField(label=_("Name"), max_length=100)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=_NONE)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    template = forms.ModelChoiceField(label=_("Message"), queryset=_NONE)
    coupon_template = forms.ModelChoiceField(
        label=_("Coupon (optional)"), queryset=_NONE, required=False
    )
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        help_text=_("Empty: now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    holdout_percent = forms.DecimalField(
        label=_("Holdout (%)"),
        min_value=0,
        max_value=50,
        max_digits=4,
        decimal_places=1,
        initial=10,
    )
    is_marketing = forms.BooleanField(
        label=_("Marketing (frequency cap, consent)"), required=False, initial=True
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        _choices(self, "segment").queryset = Segment.objects.filter(organisation=organisation)
        _choices(self, "template").queryset = MessageTemplate.objects.filter(
            organisation=organisation
        )
        _choices(self, "coupon_template").queryset = CouponTemplate.objects.filter(
            organisation=organisation, is_active=True
        )

    def apply(self, rule: AutomationRule) -> AutomationRule:
        """Copy the cleaned form onto a campaign rule (unsaved)."""
        d = self.cleaned_data
        rule.name = d["name"]
        rule.trigger = Trigger.MANUAL
        rule.segment = d["segment"]
        rule.params = {"send_at": (d.get("send_at") or timezone.now()).isoformat()}
        actions: list[dict[str, Any]] = []
        if d.get("coupon_template"):
            actions.append({"type": "issue_coupon", "coupon_template": d["coupon_template"].pk})
        actions.append(
            {"type": "send_message", "channel": d["channel"], "template": d["template"].pk}
        )
        rule.actions = actions
        rule.is_marketing = bool(d.get("is_marketing"))
        rule.holdout_share = (Decimal(d.get("holdout_percent") or 0) / 100).quantize(
            Decimal("0.01")
        )
        rule.is_active = True
        return rule


def _custom_line(c: dict[str, Any]) -> str:
    """An own date as the owner writes it (see clean_custom_dates)."""
    if c.get("weekday") is not None:
        return f"{c['name']},{c['month']},{c['day']},{WEEKDAY_NAMES[c['weekday']]}"
    return f"{c['name']},{c['month']},{c['day']}{',农历' if c.get('lunar') else ''}"

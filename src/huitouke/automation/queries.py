"""Read-side helpers for the automation screens and API: rule lists with counts, audience previews."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from huitouke.accounts.scoping import customer_q
from huitouke.automation.engine import org_today, rule_customers
from huitouke.automation.holdout import in_holdout
from huitouke.automation.models import AutomationRule, EnrolmentStatus
from huitouke.loyalty.models import CouponTemplate
from huitouke.messaging.actions import channel_ready, ensure_settings
from huitouke.messaging.models import Channel, Message, MessageTemplate, OptOut, OptOutChannel
from huitouke.messaging.rendering import VARIABLES, customer_variables, missing_variables, render
from huitouke.messaging.senders import sender_for

_CONSENT: dict[str, str] = {
    Channel.SMS: "consent_sms",
    Channel.EMAIL: "consent_email",
    Channel.TASK: "consent_wechat",
    Channel.WECOM: "consent_wechat",
}
_OPT_OUTS: dict[str, list[str]] = {
    Channel.SMS: [OptOutChannel.SMS, OptOutChannel.ALL],
    Channel.EMAIL: [OptOutChannel.EMAIL, OptOutChannel.ALL],
    Channel.TASK: [OptOutChannel.WECHAT, OptOutChannel.ALL],
    Channel.WECOM: [OptOutChannel.WECHAT, OptOutChannel.ALL],
}


def rules_with_counts(viewer: Any) -> QuerySet[AutomationRule]:
    """The viewer's organisation's rules, each with its numbers of acted, held-out and scheduled
    enrolments of the customers she may see (a manager counts her store's, as the rule's page)."""
    seen = customer_q(viewer, "enrolments__customer__")

    def count(status: str) -> Count:
        return Count("enrolments", filter=Q(enrolments__status=status) & seen)

    return (
        AutomationRule.objects.filter(organisation_id=viewer.organisation_id)
        .select_related("segment")
        .annotate(
            n_done=count(EnrolmentStatus.DONE),
            n_holdout=count(EnrolmentStatus.HOLDOUT),
            n_scheduled=count(EnrolmentStatus.SCHEDULED),
        )
    )


def _blocked_steps(rule: AutomationRule, channel: str) -> list[tuple[str, Q]]:
    """Why a customer cannot get a message on this channel, as (reason, filter) in the order the
    engine asks (messaging.actions.suppression_reason); the cap is counted once, for the rule."""
    steps: list[tuple[str, Q]] = []
    if channel != Channel.TASK or rule.is_marketing:
        steps.append(
            (
                "opted_out",
                Q(
                    Exists(
                        OptOut.objects.filter(
                            customer=OuterRef("pk"), channel__in=_OPT_OUTS[channel]
                        )
                    )
                ),
            )
        )
        if rule.is_marketing:
            steps.append(("no_consent", Q(**{_CONSENT[channel]: False})))
    if channel == Channel.SMS:
        steps.append(("no_address", Q(phone__isnull=True) | Q(phone="")))
    elif channel == Channel.EMAIL:
        steps.append(("no_address", Q(email="")))
    elif channel == Channel.WECOM:
        sender = sender_for(channel)
        steps.append(("no_address", ~sender.linked() if sender else Q()))
    if not channel_ready(rule.organisation_id, channel):
        steps.append(("no_channel", Q(pk__isnull=False)))
    return steps


def _blocked(steps: list[tuple[str, Q]]) -> Q:
    combined = Q(pk__in=[])
    for _reason, q in steps:
        combined |= q
    return combined


def audience_preview(
    rule: AutomationRule, *, now: datetime | None = None, viewer: Any = None
) -> dict[str, Any]:
    """Who a (possibly unsaved) rule would reach now: matching, minus each suppression, minus holdout.

    A customer counts when one of the rule's messages reaches her on its channel or, where that
    channel cannot, on its fallback (the engine's order); `by_channel` says how many messages go
    on each channel. Those left out are counted by the first message channel's reason. The
    holdout is exact for a saved rule and the expected share for a new one. With a `viewer`, only
    the customers she may see are counted (a manager looking at the owner's campaign).
    """
    now = now or timezone.now()
    customers = rule_customers(rule, org_today(rule.organisation, now))
    if viewer is not None:
        customers = customers.filter(customer_q(viewer))
    sends = [a for a in rule.actions if a.get("type") == "send_message"]
    counts: dict[str, Any] = {
        "matching": customers.count(),
        "suppressed": {},
        "by_channel": {},
        "channel_rows": [],
    }
    remaining = customers
    if sends:
        steps = {
            channel: _blocked_steps(rule, channel)
            for action in sends
            for channel in (action["channel"], action.get("fallback_channel") or "")
            if channel in _OPT_OUTS
        }
        # Nobody to reach for one message: blocked on its channel and on its fallback.
        unreachable = Q()
        for action in sends:
            fallback = action.get("fallback_channel") or ""
            lost = _blocked(steps[action["channel"]])
            if fallback in steps:
                lost &= _blocked(steps[fallback])
            unreachable &= lost
        left_out = customers.filter(unreachable)
        # Each one left out is blocked on the first channel: name the first reason there.
        for reason, q in steps[sends[0]["channel"]]:
            n = left_out.filter(q).count()
            if n:
                counts["suppressed"][reason] = counts["suppressed"].get(reason, 0) + n
            left_out = left_out.exclude(q)
        remaining = customers.exclude(unreachable)
        if rule.is_marketing and not rule.cap_exempt:
            settings = ensure_settings(rule.organisation_id)
            recent = Message.objects.counting_toward_cap().filter(
                customer=OuterRef("pk"), created_at__gt=now - timedelta(days=settings.cap_days)
            )
            capped = remaining.annotate(
                recent=Count("messages", filter=Q(messages__in=recent.values("pk")))
            ).filter(recent__gte=settings.cap_messages)
            n = capped.count()
            if n:
                counts["suppressed"]["frequency_cap"] = n
            remaining = remaining.exclude(pk__in=capped.values("pk"))
        for action in sends:
            channel, fallback = action["channel"], action.get("fallback_channel") or ""
            on_channel = remaining.exclude(_blocked(steps[channel])).count()
            by = counts["by_channel"]
            by[channel] = by.get(channel, 0) + on_channel
            if fallback in steps:
                on_fallback = (
                    remaining.filter(_blocked(steps[channel]))
                    .exclude(_blocked(steps[fallback]))
                    .count()
                )
                by[fallback] = by.get(fallback, 0) + on_fallback
        counts["by_channel"] = {c: n for c, n in counts["by_channel"].items() if n}
        counts["channel_rows"] = [
            (str(Channel(c).label), n) for c, n in counts["by_channel"].items()
        ]
    reachable = remaining.count()
    share = float(rule.holdout_share or 0)
    if rule.pk and share:
        holdout = sum(
            in_holdout(rule.pk, pk, share)
            for pk in remaining.values_list("pk", flat=True).iterator()
        )
    else:
        holdout = round(reachable * share)
    counts.update(holdout=holdout, contacted=reachable - holdout)
    return counts


def why_nobody(rule: AutomationRule, preview: dict[str, Any]) -> list[dict[str, Any]]:
    """Why a send would reach nobody, biggest reason first: each with its count, what to do and,
    for a channel that is not set up, the channel (the screen links to the channels page)."""
    sends = [a for a in rule.actions if a.get("type") == "send_message"]
    channel = sends[0]["channel"] if sends else ""
    label = str(Channel(channel).label) if channel in Channel.values else ""
    advice = {
        "no_channel": _("The %(channel)s channel is not set up: set it up, then send again.")
        % {"channel": label},
        "opted_out": _("They opted out of %(channel)s; choose another channel.")
        % {"channel": label},
        "no_consent": _("They have not agreed to marketing; ask them at their next visit."),
        "no_address": _("They have no address on %(channel)s; choose another channel.")
        % {"channel": label},
        "frequency_cap": _("They reached the frequency cap; send later."),
    }
    reasons = sorted(preview["suppressed"].items(), key=lambda pair: -pair[1])
    out = [
        {"reason": r, "n": n, "advice": advice.get(r, ""), "channel_link": r == "no_channel"}
        for r, n in reasons
    ]
    if not preview["matching"]:
        out.insert(
            0,
            {
                "reason": "no_match",
                "n": 0,
                "advice": _("No customer is in this segment today; choose another segment."),
                "channel_link": False,
            },
        )
    elif not out:
        out.append(
            {
                "reason": "holdout",
                "n": preview["holdout"],
                "advice": _("Everyone would be held out; lower the holdout share."),
                "channel_link": False,
            }
        )
    return out


def sample_message(rule: AutomationRule, user: Any) -> dict[str, Any] | None:
    """The rule's first message as one customer it would reach today would read it (one she may
    see), a coupon it issues shown by its example code; None for a rule that sends nothing."""
    sends = [a for a in rule.actions if a.get("type") == "send_message"]
    if not sends:
        return None
    template = MessageTemplate.objects.filter(
        pk=sends[0].get("template"), organisation_id=rule.organisation_id
    ).first()
    if template is None:
        return None
    today = org_today(rule.organisation, timezone.now())
    customer = rule_customers(rule, today).filter(customer_q(user)).order_by("id").first()
    if customer is None:
        return {"customer": "", "body": "", "missing": ""}
    extra: dict[str, str] = {}
    coupon = next((a for a in rule.actions if a.get("type") == "issue_coupon"), None)
    if coupon is not None:
        found = CouponTemplate.objects.filter(pk=coupon.get("coupon_template")).first()
        extra = {
            "coupon_code": VARIABLES["coupon_code"][1],
            "coupon_value": found.describe() if found else "",
        }
    values = customer_variables(customer, **extra)
    missing = missing_variables(
        [template.body, template.subject], values, list(template.sms_params or [])
    )
    return {
        "customer": customer.name,
        "subject": render(template.subject, values, mark_missing=True),
        "body": render(template.body, values, mark_missing=True),
        "missing": pgettext("list separator", ", ").join(str(VARIABLES[n][0]) for n in missing),
    }


def occasion_label(rule: AutomationRule, key: str) -> str:
    """An enrolment's occasion as people read it ("2026 birthday"), never its key
    ("birthday:2026"): the rule's trigger, with the year or date the key carries."""
    parts = key.split(":")
    trigger = str(rule.get_trigger_display())
    last = parts[-1] if len(parts) > 1 else ""
    lunar = last.startswith("L") and last[1:].isdigit()
    year = last[1:] if lunar else last
    if year.isdigit() and len(year) == 4:
        if lunar:
            return _("%(what)s, lunar year %(year)s") % {"what": trigger, "year": year}
        return _("%(what)s, %(year)s") % {"what": trigger, "year": year}
    if len(last) == 10 and last[4] == "-":
        return _("%(what)s, %(date)s") % {"what": trigger, "date": last}
    return trigger

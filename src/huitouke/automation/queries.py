"""Read-side helpers for the automation screens and API: rule lists with counts, audience previews."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from huitouke.automation.engine import org_today, rule_customers
from huitouke.automation.holdout import in_holdout
from huitouke.automation.models import AutomationRule, EnrolmentStatus
from huitouke.messaging.actions import channel_ready, ensure_settings
from huitouke.messaging.models import Channel, Message, OptOut, OptOutChannel
from huitouke.messaging.senders import sender_for

_CONSENT = {
    Channel.SMS: "consent_sms",
    Channel.EMAIL: "consent_email",
    Channel.TASK: "consent_wechat",
    Channel.WECOM: "consent_wechat",
}
_OPT_OUTS = {
    Channel.SMS: [OptOutChannel.SMS, OptOutChannel.ALL],
    Channel.EMAIL: [OptOutChannel.EMAIL, OptOutChannel.ALL],
    Channel.TASK: [OptOutChannel.WECHAT, OptOutChannel.ALL],
    Channel.WECOM: [OptOutChannel.WECHAT, OptOutChannel.ALL],
}


def rules_with_counts(organisation_id: int) -> QuerySet[AutomationRule]:
    """The organisation's rules, each with its numbers of acted and held-out enrolments."""
    return (
        AutomationRule.objects.filter(organisation_id=organisation_id)
        .select_related("segment")
        .annotate(
            n_done=Count("enrolments", filter=Q(enrolments__status=EnrolmentStatus.DONE)),
            n_holdout=Count("enrolments", filter=Q(enrolments__status=EnrolmentStatus.HOLDOUT)),
            n_scheduled=Count("enrolments", filter=Q(enrolments__status=EnrolmentStatus.SCHEDULED)),
        )
    )


def audience_preview(rule: AutomationRule, *, now: datetime | None = None) -> dict[str, Any]:
    """Who a (possibly unsaved) rule would reach now: matching, minus each suppression, minus holdout.

    Counts follow the first message channel of the rule (fallbacks are not counted); the holdout
    is exact for a saved rule and the expected share for a new one.
    """
    now = now or timezone.now()
    customers = rule_customers(rule, org_today(rule.organisation, now))
    sends = [a for a in rule.actions if a.get("type") == "send_message"]
    counts: dict[str, Any] = {"matching": customers.count(), "suppressed": {}}
    remaining = customers
    if sends:
        channel = sends[0]["channel"]
        steps: list[tuple[str, Q]] = [
            (
                "opted_out",
                Q(
                    Exists(
                        OptOut.objects.filter(
                            customer=OuterRef("pk"), channel__in=_OPT_OUTS[channel]
                        )
                    )
                ),
            ),
        ]
        if rule.is_marketing:
            steps.append(("no_consent", Q(**{_CONSENT[channel]: False})))
        if channel == Channel.SMS:
            steps.append(("no_address", Q(phone__isnull=True) | Q(phone="")))
        elif channel == Channel.EMAIL:
            steps.append(("no_address", Q(email="")))
        elif channel == Channel.WECOM:
            sender = sender_for(channel)
            steps.append(("no_address", ~sender.linked() if sender else Q()))
        for reason, q in steps:
            n = remaining.filter(q).count()
            if n:
                counts["suppressed"][reason] = n
            remaining = remaining.exclude(q)
        if not channel_ready(rule.organisation_id, channel):
            counts["suppressed"]["no_channel"] = remaining.count()
            remaining = remaining.none()
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

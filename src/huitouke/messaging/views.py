"""Messaging screens: the outbox and its failures, templates with a live preview, channels,
a customer's messages and opt-outs, and the token-protected provider callback."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from huitouke.accounts import scoping
from huitouke.accounts.http import AuthedRequest, require_role
from huitouke.accounts.models import Role
from huitouke.customers.models import Customer
from huitouke.customers.queries import get_customer_for
from huitouke.messaging import actions, opt_outs, queries, setup_actions
from huitouke.messaging.forms import (
    EmailChannelForm,
    OptOutForm,
    SettingsForm,
    SmsChannelForm,
    TemplateForm,
)
from huitouke.messaging.models import (
    Channel,
    ChannelConfig,
    Message,
    MessageStatus,
    MessageTemplate,
    MessagingSettings,
    OptOut,
    Provider,
)
from huitouke.messaging.rendering import (
    VARIABLES,
    customer_variables,
    explain_error,
    from_readable,
    readable,
)
from huitouke.messaging.rendering import render as render_text


def _visible_messages(request: AuthedRequest) -> Any:
    return Message.objects.filter(scoping.customer_q(request.user, "customer__")).filter(
        organisation_id=request.user.organisation_id
    )


@login_required
def outbox(request: AuthedRequest) -> HttpResponse:
    """Every message of the customers the user may see, newest first; filter failures here."""
    require_role(request, Role.OWNER, Role.MANAGER)
    rows = _visible_messages(request).select_related("customer", "rule", "template")
    status = request.GET.get("status", "")
    if status in MessageStatus.values:
        rows = rows.filter(status=status)
    channel = request.GET.get("channel", "")
    if channel in Channel.values:
        rows = rows.filter(channel=channel)
    rule = request.GET.get("rule", "")
    if rule.isdigit():
        rows = rows.filter(rule_id=int(rule))
    page = Paginator(rows.order_by("-created_at", "-id"), 50).get_page(request.GET.get("page"))
    for message in page.object_list:
        message.problem = explain_error(message.error)
    counts = dict(
        _visible_messages(request)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return render(
        request,
        "messaging/outbox.html",
        {
            "page": page,
            "status": status,
            "channel": channel,
            "statuses": MessageStatus.choices,
            "channels": Channel.choices,
            "counts": counts,
            "active_nav": "automation",
        },
    )


@login_required
@require_POST
def message_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    """Queue a failed message again."""
    require_role(request, Role.OWNER, Role.MANAGER)
    message = _visible_messages(request).filter(pk=pk).first()
    if message is None:
        raise Http404
    try:
        actions.do_retry_message(message, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The message will be sent again."))
    return redirect(reverse("messaging:outbox") + "?status=failed")


@login_required
def template_list(request: AuthedRequest) -> HttpResponse:
    require_role(request, Role.OWNER, Role.MANAGER)
    templates = list(MessageTemplate.objects.filter(organisation_id=request.user.organisation_id))
    for template in templates:
        # The text as people read it: each {{ variable }} by its name (［称呼］).
        template.readable = readable(template.body)  # type: ignore[attr-defined]
    return render(
        request, "messaging/templates.html", {"templates": templates, "active_nav": "automation"}
    )


def _preview_customer(request: AuthedRequest, raw: Any) -> Customer | None:
    visible = Customer.objects.visible_to(request.user).select_related("organisation", "home_store")
    if str(raw or "").isdigit():
        return visible.filter(pk=int(raw)).first()
    return visible.first()


def _preview(
    customer: Customer | None, channel: str, subject: str, body: str, marketing: bool
) -> dict[str, str]:
    values = (
        customer_variables(customer, coupon_code="7KQ2M9XR4TZB", coupon_value="满200减50")
        if customer
        else {k: v[1] for k, v in VARIABLES.items()}
    )
    text = render_text(body, values)
    if channel == Channel.SMS and customer is not None:
        text = actions.sms_text(text, actions.sms_signature(customer), marketing=marketing)
    return {"subject": render_text(subject, values), "body": text}


@login_required
def template_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a message template, with a live preview for one customer."""
    require_role(request, Role.OWNER, Role.MANAGER)
    organisation = request.user.organisation
    instance = None
    if pk is not None:
        instance = MessageTemplate.objects.filter(pk=pk, organisation=organisation).first()
        if instance is None:
            raise Http404
    form = TemplateForm(
        request.POST or None, instance=instance or MessageTemplate(organisation=organisation)
    )
    if request.method == "POST" and form.is_valid():
        try:
            template = setup_actions.do_save_template(
                form.apply(), actor=request.user, request=request
            )
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, _("Template saved."))
            return redirect("messaging:template_edit", template.pk)
    customer = _preview_customer(request, request.GET.get("customer"))
    source = instance or MessageTemplate(channel=Channel.SMS, body="", subject="")
    return render(
        request,
        "messaging/template_form.html",
        {
            "form": form,
            "template_obj": instance,
            "customer": customer,
            "preview": _preview(customer, source.channel, source.subject, source.body, True),
            "variables": [(name, label, example) for name, (label, example) in VARIABLES.items()],
            "active_nav": "automation",
        },
    )


@login_required
@require_POST
def template_preview(request: AuthedRequest) -> HttpResponse:
    """The HTMX preview: the text being typed, rendered for the chosen customer."""
    require_role(request, Role.OWNER, Role.MANAGER)
    customer = _preview_customer(request, request.POST.get("customer"))
    preview = _preview(
        customer,
        request.POST.get("channel", ""),
        from_readable(request.POST.get("subject", "")[:200]),
        from_readable(request.POST.get("body", "")[:2000]),
        True,
    )
    return render(request, "messaging/_preview.html", {"preview": preview, "customer": customer})


@login_required
def channels(request: AuthedRequest) -> HttpResponse:
    """How messages go out (owner only): SMS provider, SMTP server, frequency cap, retries."""
    require_role(request, Role.OWNER)
    organisation = request.user.organisation
    sms = ChannelConfig.objects.filter(organisation=organisation, channel=Channel.SMS).first()
    email = ChannelConfig.objects.filter(organisation=organisation, channel=Channel.EMAIL).first()
    rules = actions.ensure_settings(organisation)
    post = request.POST if request.method == "POST" else None
    which = request.POST.get("form") if post else None
    sms_form = SmsChannelForm(
        post if which == "sms" else None, initial=SmsChannelForm.initial_for(sms), prefix="sms"
    )
    email_form = EmailChannelForm(
        post if which == "email" else None,
        initial=EmailChannelForm.initial_for(email),
        prefix="email",
    )
    settings_form = SettingsForm(
        post if which == "settings" else None, instance=rules, prefix="cap"
    )
    saved = False
    try:
        if which == "sms" and sms_form.is_valid():
            config = sms or ChannelConfig(organisation=organisation, channel=Channel.SMS)
            previous = (
                dict(config.settings or {})
                if config.provider == sms_form.cleaned_data["provider"]
                else {}
            )
            config.provider = sms_form.cleaned_data["provider"]
            config.settings = sms_form.settings(previous)
            config.unit_cost = sms_form.cleaned_data["unit_cost"]
            config.is_active = sms_form.cleaned_data["is_active"]
            setup_actions.do_save_channel(config, actor=request.user, request=request)
            saved = True
        elif which == "email" and email_form.is_valid():
            config = email or ChannelConfig(
                organisation=organisation, channel=Channel.EMAIL, provider=Provider.SMTP
            )
            config.settings = email_form.settings(dict(config.settings or {}))
            config.unit_cost = email_form.cleaned_data["unit_cost"]
            config.is_active = email_form.cleaned_data["is_active"]
            setup_actions.do_save_channel(config, actor=request.user, request=request)
            saved = True
        elif which == "settings" and settings_form.is_valid():
            setup_actions.do_save_settings(
                settings_form.save(commit=False), actor=request.user, request=request
            )
            saved = True
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if saved:
        messages.success(request, _("Saved."))
        return redirect("messaging:channels")
    callback = request.build_absolute_uri(f"/messages/callback/{rules.callback_token}/")
    return render(
        request,
        "messaging/channels.html",
        {
            "sms_form": sms_form,
            "email_form": email_form,
            "settings_form": settings_form,
            "callback_url": callback,
            "active_nav": "automation",
        },
    )


@login_required
def customer_messages(request: AuthedRequest, pk: int) -> HttpResponse:
    """Her message history (the timeline's messages) and opt-outs, with a manual opt-out."""
    customer = get_customer_for(request, pk)
    history = queries.customer_messages(customer)
    return render(
        request,
        "messaging/customer.html",
        {
            "customer": customer,
            "history": history,
            "opt_outs": OptOut.objects.filter(customer=customer),
            "form": OptOutForm(),
            "active_nav": "customers",
        },
    )


@login_required
@require_POST
def customer_opt_out(request: AuthedRequest, pk: int) -> HttpResponse:
    """Record by hand that she asked not to be contacted on a channel."""
    customer = get_customer_for(request, pk)
    form = OptOutForm(request.POST)
    if form.is_valid():
        opt_outs.do_opt_out(
            customer,
            channel=form.cleaned_data["channel"],
            source="manual",
            actor=request.user,
            note=form.cleaned_data["note"],
            request=request,
        )
        messages.success(request, _("Opt-out recorded."))
    else:
        messages.error(request, _("Choose a channel."))
    return redirect("messaging:customer", customer.pk)


@login_required
@require_POST
def customer_opt_in(request: AuthedRequest, pk: int) -> HttpResponse:
    """Withdraw an opt-out (she asked to hear from the store again)."""
    customer = get_customer_for(request, pk)
    opt_outs.do_remove_opt_out(
        customer, channel=request.POST.get("channel", ""), actor=request.user, request=request
    )
    messages.success(request, _("Opt-out withdrawn."))
    return redirect("messaging:customer", customer.pk)


def _callback_items(request: HttpRequest) -> list[dict[str, Any]]:
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        payload = None
    if payload is None:
        payload = request.POST.dict()
    if isinstance(payload, dict):
        payload = [payload]
    return [item for item in payload if isinstance(item, dict)] if isinstance(payload, list) else []


@csrf_exempt
@require_POST
def provider_callback(request: HttpRequest, token: str) -> HttpResponse:
    """Replies (回T) and delivery reports pushed by Aliyun or Tencent; the token names the organisation."""
    rules = (
        MessagingSettings.objects.select_related("organisation")
        .filter(callback_token=token)
        .first()
    )
    if rules is None or not token:
        raise Http404
    organisation = rules.organisation
    opted = delivered = 0
    for item in _callback_items(request)[:1000]:
        phone = str(item.get("phone_number") or item.get("mobile") or "")
        text = item.get("content") if "content" in item else item.get("text")
        if phone and isinstance(text, str):
            opted += len(opt_outs.record_reply(organisation, phone=phone, text=text))
            continue
        provider_id = str(item.get("biz_id") or item.get("sid") or "")
        key = str(item.get("out_id") or "")
        if provider_id or key:
            ok = item.get("success") in (True, "true") or item.get("report_status") == "SUCCESS"
            when = parse_datetime(
                str(item.get("report_time") or item.get("user_receive_time") or "")
            )
            delivered += actions.record_delivery(
                organisation,
                provider_message_id=provider_id,
                idempotency_key=key,
                delivered=ok,
                error=str(item.get("err_code") or item.get("errmsg") or ""),
                at=when if when and when.tzinfo else None,
            )
    # Both providers want a JSON acknowledgement: Aliyun reads code/msg, Tencent result/errmsg.
    return JsonResponse(
        {
            "code": 0,
            "msg": "OK",
            "result": 0,
            "errmsg": "OK",
            "opted_out": opted,
            "reports": delivered,
        }
    )

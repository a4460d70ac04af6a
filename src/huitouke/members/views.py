"""The member's own pages (/m/): join from a QR code, sign in by SMS code, her member page.

These views read only the member session (sessions.current_member), never request.user: a
staff login opens no member page, and the middleware keeps members out of staff pages.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huitouke.audit.actions import client_ip
from huitouke.customers import passcode
from huitouke.customers.models import Customer
from huitouke.customers.phones import national
from huitouke.loyalty.queries import customer_panel_context
from huitouke.members import actions, qr, sms
from huitouke.members.forms import JoinForm
from huitouke.members.models import ConsentEvent, JoinCode, Member
from huitouke.members.sessions import current_member, end_session, start_session


def _code_or_404(token: str) -> JoinCode:
    code = (
        JoinCode.objects.filter(token=token, is_active=True)
        .select_related("organisation", "store", "staff")
        .first()
    )
    if code is None:
        raise Http404
    return code


def _errors_into(form: JoinForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        if field in ("birthday",):
            form.add_error("birth_month", errors)
        else:
            form.add_error(field if field in form.fields else None, errors)


def _join_page(request: HttpRequest, code: JoinCode, form: JoinForm, **extra: Any) -> HttpResponse:
    return render(
        request,
        "members/join.html",
        {"code": code, "form": form, "shop": code.organisation, "store": code.store, **extra},
    )


def join(request: HttpRequest, token: str) -> HttpResponse:
    """Join (or sign in again) from a store's or staff member's QR code."""
    code = _code_or_404(token)
    if request.method != "POST":
        if not request.headers.get("HX-Request"):
            actions.do_record_scan(code)
        return _join_page(request, code, JoinForm(code=code))
    form = JoinForm(request.POST, code=code)
    if not form.is_valid():
        return _join_page(request, code, form)
    data = form.cleaned_data
    try:
        birthday = actions.clean_birthday(
            data.get("birthday_kind") or "solar",
            data.get("birth_year"),
            data.get("birth_month"),
            data.get("birth_day"),
            data.get("birth_leap_month", False),
            timezone.localdate(),
        )
        custom = actions.clean_custom(code, form.custom_values())
        phone = sms.clean_phone(data["phone"])
        known = Customer.objects.active().filter(organisation=code.organisation, phone=phone)
        if not known.exists() and not (data.get("name") or "").strip():
            raise ValidationError({"name": _("Tell us your name.")})
        sms.verify_code(organisation=code.organisation, raw_phone=phone, code=data["code"])
        customer, _created = actions.do_join(
            code=code,
            phone=phone,
            name=data.get("name") or "",
            birthday=birthday,
            custom=custom,
            consents={
                "sms": data.get("consent_sms", False),
                "email": data.get("consent_email", False),
                "wechat": data.get("consent_wechat", False),
            },
            request=request,
        )
    except ValidationError as exc:
        _errors_into(form, exc)
        return _join_page(request, code, form)
    response = redirect("member:home")
    start_session(response, customer)
    return response


@require_POST
def send_code(request: HttpRequest, token: str) -> HttpResponse:
    """Send a sign-in code (HTMX: the line under the phone field; else the join page again)."""
    code = _code_or_404(token)
    message, error = "", ""
    try:
        message = sms.request_code(
            organisation=code.organisation,
            raw_phone=request.POST.get("phone", ""),
            ip=client_ip(request),
            join_code=code,
        ).message
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.headers.get("HX-Request"):
        return render(request, "members/_code_sent.html", {"message": message, "error": error})
    form = JoinForm(request.POST, code=code)
    form.errors.clear()  # show what she typed without complaining about the empty code yet
    return _join_page(request, code, form, code_message=message, code_error=error)


def index(request: HttpRequest) -> HttpResponse:
    if current_member(request) is not None:
        return redirect("member:home")
    return render(request, "members/signed_out.html", {})


def _consents(customer: Customer) -> list[dict[str, Any]]:
    latest: dict[str, ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(customer=customer).order_by("-at", "-id")[:30]:
        latest.setdefault(event.channel, event)
    labels = {"sms": _("SMS"), "email": _("Email"), "wechat": _("WeChat")}
    return [
        {
            "channel": channel,
            "label": labels[channel],
            "granted": getattr(customer, field),
            "event": latest.get(channel),
        }
        for channel, field in actions.CONSENT_FIELDS.items()
    ]


def _pass_context(customer: Customer) -> dict[str, Any]:
    code = passcode.make_pass(customer)
    return {
        "pass_code": code,
        "pass_grouped": passcode.grouped(code),
        "pass_svg": qr.svg(code, scale=5, title=_("Member code"), inline=True),
        "pass_refresh": passcode.REFRESH_SECONDS,
    }


def home(request: HttpRequest) -> HttpResponse:
    """Her member page: member code, points, tier and gap, coupons, birthday, consent, her data."""
    customer = current_member(request)
    if customer is None:
        return redirect("member:index")
    member = Member.objects.filter(customer=customer).select_related("join_code__store").first()
    ctx = {
        "customer": customer,
        "member": member,
        "shop": customer.organisation,
        "consents": _consents(customer),
        "phone_display": national(customer.phone or ""),
        **customer_panel_context(customer, history=10),
        **_pass_context(customer),
    }
    return render(request, "members/home.html", ctx)


def member_pass(request: HttpRequest) -> HttpResponse:
    """HTMX, every 60 s: a fresh member code."""
    customer = current_member(request)
    if customer is None:
        return HttpResponse(status=204)
    return render(request, "members/_pass.html", _pass_context(customer))


@require_POST
def consent(request: HttpRequest) -> HttpResponse:
    customer = current_member(request)
    if customer is None:
        return redirect("member:index")
    # An unknown channel changes nothing; the page shows the truth.
    with contextlib.suppress(ValidationError):
        actions.do_set_consent(
            customer,
            channel=request.POST.get("channel", ""),
            granted=request.POST.get("granted") == "1",
            request=request,
        )
    return redirect(f"{_home_url()}#consent")


@require_POST
def data_request(request: HttpRequest) -> HttpResponse:
    customer = current_member(request)
    if customer is None:
        return redirect("member:index")

    try:
        created = actions.do_request_data(
            customer, kind=request.POST.get("kind", ""), request=request
        )
        messages.success(
            request,
            _("We received your request. The shop will contact you within 15 days.")
            if created
            else _("Your request is already with the shop; they will contact you soon."),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"{_home_url()}#data")


def _home_url() -> str:

    return reverse("member:home")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    response = redirect("member:index")
    end_session(request, response)
    return response

"""Staff screens of the member centre: members list, join QR codes (images, A6 print page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from huitouke.accounts.http import AuthedRequest
from huitouke.accounts.models import Role, User
from huitouke.customers.models import Customer
from huitouke.members import actions, qr
from huitouke.members.forms import JoinCodeForm
from huitouke.members.models import JoinCode


def visible_codes(user: User) -> QuerySet[JoinCode]:
    """Join codes the user may see: the owner all, a manager her store's, staff their own."""
    codes = JoinCode.objects.filter(organisation_id=user.organisation_id or 0)
    if user.role == Role.MANAGER:
        codes = codes.filter(Q(store_id=user.store_id or 0) | Q(staff_id=user.pk))
    elif user.role != Role.OWNER:
        codes = codes.filter(staff_id=user.pk)
    return codes.select_related("store", "staff")


def _code_for(request: AuthedRequest, pk: int) -> JoinCode:
    code = visible_codes(request.user).filter(pk=pk).first()
    if code is None:
        raise Http404
    return code


@login_required
def member_list(request: AuthedRequest) -> HttpResponse:
    """Members among the customers the user may see; "joined by QR" leaves out linked ones."""
    rows = (
        Customer.objects.visible_to(request.user)
        .filter(member__isnull=False)
        .select_related("member__join_code", "owner")
        .order_by("-member__joined_at")
    )
    by_qr = request.GET.get("joined") == "qr"
    if by_qr:
        rows = rows.filter(member__join_code__isnull=False, member__linked_existing=False)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "members/staff_list.html",
        {"page": page, "by_qr": by_qr, "active_nav": "members"},
    )


@login_required
def code_list(request: AuthedRequest) -> HttpResponse:
    """The join QR codes with scans, codes sent and joins; a form to make another."""
    form = JoinCodeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            code = actions.do_create_join_code(
                actor=request.user,
                store=form.cleaned_data["store"],
                staff=form.cleaned_data.get("staff"),
                label=form.cleaned_data["label"],
                source=form.cleaned_data["source"],
                fields=form.cleaned_data.get("ask_fields") or [],
                request=request,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("QR code “%(label)s” is ready.") % {"label": code.label})
            return redirect("members:codes")
    codes = list(visible_codes(request.user).order_by("store_id", "staff_id", "id"))
    for code in codes:
        code.url = qr.join_url(request, code)  # type: ignore[attr-defined]
    # The join funnel over the codes shown: scanned -> asked for a code -> joined.
    funnel = {
        "scans": sum(c.scans for c in codes),
        "codes_sent": sum(c.codes_sent for c in codes),
        "joins": sum(c.joins for c in codes),
    }
    return render(
        request,
        "members/codes.html",
        {"codes": codes, "form": form, "funnel": funnel, "active_nav": "members"},
    )


@login_required
def code_svg(request: AuthedRequest, pk: int) -> HttpResponse:
    code = _code_for(request, pk)
    return HttpResponse(qr.svg(qr.join_url(request, code), scale=8), content_type="image/svg+xml")


@login_required
def code_png(request: AuthedRequest, pk: int) -> HttpResponse:
    code = _code_for(request, pk)
    response = HttpResponse(qr.png(qr.join_url(request, code)), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="join-{code.pk}.png"'
    return response


@login_required
def code_print(request: AuthedRequest, pk: int) -> HttpResponse:
    """An A6 standee: the shop's name, the QR and one line of what she gets."""
    code = _code_for(request, pk)
    return render(
        request,
        "members/print.html",
        {
            "code": code,
            "qr_svg": qr.svg(qr.join_url(request, code), scale=8, title=code.label, inline=True),
            "url": qr.join_url(request, code),
        },
    )

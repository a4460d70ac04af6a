"""Loyalty's background jobs: points expiry, nightly tier re-evaluation, coupon expiry.

Huey's crontab is in UTC: 16:10 UTC is 00:10 in China. Each job is idempotent and safe to run
on two workers at once (per-customer transactions re-checked under a lock, or conditional
updates).
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from huitouke.accounts.models import Organisation
from huitouke.loyalty.actions import do_expire_points
from huitouke.loyalty.coupons import do_expire_coupons
from huitouke.loyalty.program import do_reevaluate_tiers


@db_periodic_task(crontab(hour="16", minute="10"))
def expire_points() -> int:
    """Expire lapsed points (daily, just after midnight in China)."""
    return do_expire_points()


@db_periodic_task(crontab(hour="18", minute="30"))
def reevaluate_tiers() -> int:
    """Re-evaluate tiers as spend leaves the trailing 12 months (nightly)."""
    return do_reevaluate_tiers()


@db_periodic_task(crontab(minute="7"))
def expire_coupons() -> int:
    """Mark unused coupons past their validity as expired (hourly; redemption checks the date anyway)."""
    return do_expire_coupons()


@db_task()
def reevaluate_organisation_tiers(organisation_id: int) -> int:
    """Re-evaluate one organisation's members after its tiers changed."""
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    return do_reevaluate_tiers(organisation=organisation) if organisation else 0

"""Issue 15, "Must show": every page reachable from the navigation, as owner, manager and staff,
in Chinese and English, says nothing in code, nothing untranslated, fits a phone and passes axe;
issue 14: none of them raises a Content-Security-Policy violation (the pages run under their
real policy, `script-src 'self'`).

Besides the navigation's pages the walk visits an import's job page (an analysed book with a bad
row, and an imported one), the member centre (/m/: the join page signed out, her pages signed
in) and the error pages as rendered (404 and 500 for everyone, 403 for staff, the member
centre's 404), all under the same checks.

One small seeded shop (the demo salon with 30 customers, a segment, a rule, a campaign, a join
code). The walk (tests/e2e/walker.py) runs at 390 px for each persona and also at 1366 px for the
owner; the two languages are two tests so `-n 2` runs them side by side. Each walk prints how
many pages it visited and must visit a sensible minimum: a walk that is green because it skipped
pages is a failure. HUITOUKE_SCREENSHOTS=1 also writes a full-page screenshot of every visit to
var/screenshots/walk/ (the checks run either way). On PostgreSQL it runs only with
HUITOUKE_WALK_POSTGRES=1: what a page says does not depend on the database.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone, translation
from openpyxl import Workbook
from tests.automation.conftest import make_rule
from tests.e2e.conftest import log_in
from tests.e2e.walker import MEMBER_SKIP_PATH, Walk

from huitouke.accounts.models import Organisation, Store, User
from huitouke.analytics.jobs import refresh_organisation
from huitouke.automation.models import Trigger
from huitouke.automation.presets import enable_template
from huitouke.customers.models import Customer, Tag
from huitouke.demo.generator import DEMO_PASSWORD, generate_demo
from huitouke.followups.sop import run_sops
from huitouke.imports.actions import do_create_import_job, do_queue_import, run_import_job
from huitouke.imports.models import ImportJob
from huitouke.members.actions import do_create_join_code
from huitouke.members.models import JoinCode, MemberSession, hash_key
from huitouke.members.sessions import COOKIE
from huitouke.sales.models import Category, Product
from huitouke.segments.actions import do_save_segment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "var" / "screenshots" / "walk"
AXE = Path(settings.NODE_MODULES) / "axe-core" / "axe.min.js"

# Fewest pages each walk must reach (today: owner ~65, manager ~50, staff ~25): a broken
# navigation or a walk that stops early fails here rather than passing on nothing.
PERSONAS = (
    ("boss", (390, 1366), 45),
    ("manager1", (390,), 30),
    ("staff1", (390,), 14),
)


def seed() -> Organisation:
    """The demo salon, small, with one of each object the pages list and link to."""
    summary = generate_demo(customers=30, seed=15)
    org = Organisation.objects.get(pk=summary.organisation_id)
    refresh_organisation(org)
    run_sops(org)
    boss = User.objects.get(username="boss")
    store = Store.objects.filter(organisation=org).order_by("pk").first()
    assert store is not None
    enable_template(org, "birthday_coupon", actor=boss)
    segment = do_save_segment(
        organisation=org,
        actor=boss,
        name="旗舰店老客",
        definition={
            "version": 1,
            "match": "all",
            "conditions": [{"field": "store", "op": "in", "value": [store.pk]}],
        },
    )
    make_rule(
        org,
        name="新品试用邀请",
        actions=[{"type": "add_tag", "tag": "新品试用"}],
        segment=segment,
        trigger=Trigger.MANUAL,
        params={"send_at": "2027-01-01T10:00:00+08:00"},
        is_active=False,
    )
    do_create_join_code(actor=boss, store=store, label="前台")
    for imported in (False, True):
        seed_import_job(org, boss, imported=imported)
    return org


def seed_import_job(org: Organisation, boss: User, *, imported: bool) -> None:
    """An order book analysed (preview, mapping, a bad row), and the same imported (outcome)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["顾客姓名", "下单日期", "所购买的产品名称", "数量", "售价", "购买品类"])
    sheet.append(["林晓雨", dt.datetime(2026, 3, 2), "玻尿酸精华", 1, 268, "护肤"])
    sheet.append(["林晓雨", dt.datetime(2026, 3, 2), "补水面膜", 2, 68, "面膜"])
    sheet.append(["周静", "2026-02-30", "口红", 1, 199, "彩妆"])  # no such day
    path = Path(settings.DATA_DIR) / "walk-book.xlsx"
    book.save(path)
    upload = SimpleUploadedFile("订单.xlsx", path.read_bytes())
    job = do_create_import_job(organisation=org, actor=boss, upload=upload, kind="orders")
    run_import_job(job.pk, analyse=True)
    if imported:
        job.refresh_from_db()
        assert do_queue_import(job, actor=boss, mode="good_rows")
        run_import_job(job.pk)


def import_jobs(org: Organisation, username: str) -> list[str]:
    """The owner's two job pages: the links share one pattern (one id), so the walk would see only
    one; a query parameter the page ignores makes each its own visit (preview and outcome)."""
    if username != "boss":
        return []
    jobs = ImportJob.objects.filter(organisation=org).order_by("pk")
    return [f"/imports/{job.pk}/?state={job.status}" for job in jobs]


def member_cookie(org: Organisation, base_url: str) -> dict[str, Any]:
    """A signed-in member of the shop (her session cookie), as after joining by the QR code."""
    customer = Customer.objects.filter(organisation=org, phone__isnull=False).order_by("pk")[0]
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    MemberSession.objects.create(
        key_hash=hash_key(raw), customer=customer, created_at=now, expires_at=now + timedelta(7)
    )
    return {"name": COOKIE, "value": raw, "url": base_url}


def error_pages(username: str) -> list[tuple[str, int]]:
    """The error pages each persona is shown, as rendered (tests.e2e.boom_urls adds /boom/)."""
    pages = [("/customers/99999999/", 404), ("/boom/", 500)]
    if username == "staff1":
        pages.append(("/automation/", 403))  # rules are for the owner and managers
    return pages


def data_values(org: Organisation) -> tuple[str, ...]:
    """Codes typed into the shop's data that look like identifiers (WeChat IDs)."""
    ids = Customer.objects.filter(organisation=org).exclude(wechat_id="")
    return tuple(ids.values_list("wechat_id", flat=True))


def data_words(org: Organisation) -> frozenset[str]:
    """Latin words typed by people into the shop's data (names, usernames): not msgids."""
    texts: list[str] = []
    texts += User.objects.filter(organisation=org).values_list("username", flat=True)
    texts += User.objects.filter(organisation=org).values_list("display_name", flat=True)
    texts += Customer.objects.filter(organisation=org).values_list("name", flat=True)
    texts += Product.objects.filter(organisation=org).values_list("name", flat=True)
    texts += Category.objects.filter(organisation=org).values_list("name", flat=True)
    texts += Tag.objects.filter(organisation=org).values_list("name", flat=True)
    texts += Store.objects.filter(organisation=org).values_list("name", flat=True)
    texts.append(org.name)
    return frozenset(w for t in texts for w in re.findall(r"[A-Za-z][A-Za-z0-9'’]*", t or ""))


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_walk_every_page(browser: Any, live_server: Any, settings: Any, lang: str) -> None:
    if connection.vendor == "postgresql" and os.environ.get("HUITOUKE_WALK_POSTGRES") != "1":
        # What a page says does not depend on the database; the walk's minutes are spent once,
        # on SQLite (HUITOUKE_WALK_POSTGRES=1 runs it on PostgreSQL too).
        pytest.skip("the walk runs on SQLite (HUITOUKE_WALK_POSTGRES=1 to run it here)")
    assert AXE.exists(), f"{AXE} missing: npm install (axe-core is in package.json)"
    settings.ROOT_URLCONF = "tests.e2e.boom_urls"  # the site plus /boom/, a page that fails
    with translation.override(lang):  # names a preset gives its rule are in the owner's language
        org = seed()
    words = data_words(org)
    shots = None
    if os.environ.get("HUITOUKE_SCREENSHOTS") == "1":
        shots = SCREENSHOTS
        shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    counts: dict[str, int] = {}
    short: list[str] = []
    for username, widths, minimum in PERSONAS:
        # Under the pages' real CSP: the walker loads axe as a same-origin script.
        context = browser.new_context(
            locale="zh-CN" if lang == "zh-hans" else "en-US",
            viewport={"width": widths[0], "height": 844},
        )
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        try:
            page = context.new_page()
            page.base_url = live_server.url
            log_in(page, username, DEMO_PASSWORD)
            navigation = page.evaluate(
                "() => Array.from(document.querySelectorAll('header.topbar a[href]')).map(a => a.href)"
            )
            page.close()
            walk = Walk(
                context,
                live_server.url,
                username,
                lang,
                AXE,
                widths=widths,
                screenshots=shots,
                data_words=words,
                data_values=data_values(org),
            )
            walk.run([live_server.url + "/", *navigation, *import_jobs(org, username)])
            walk.expect(error_pages(username))
        finally:
            context.close()
        counts[username] = len(walk.visited)
        print(
            f"walk {username}/{lang}: {len(walk.visited)} pages at {widths} px,"
            f" {len(walk.downloads)} downloads, {len(walk.problems)} problems"
        )
        problems += walk.problems
        if len(walk.visited) < minimum:
            short.append(f"{username}/{lang}: {len(walk.visited)} pages < {minimum}")
    member = walk_member_centre(browser, live_server, org, lang, words, shots)
    counts["member"] = len(member.visited)
    problems += member.problems
    if len(member.visited) < 4:
        short.append(f"member/{lang}: {len(member.visited)} pages < 4")
    print("\n".join(problems))
    assert not short, f"walk stopped early: {short}"
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def walk_member_centre(
    browser: Any,
    live_server: Any,
    org: Organisation,
    lang: str,
    words: frozenset[str],
    shots: Path | None,
) -> Walk:
    """The member centre at phone width: the join page and the signed-out page, then her pages."""
    context = browser.new_context(
        locale="zh-CN" if lang == "zh-hans" else "en-US", viewport={"width": 390, "height": 844}
    )
    context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    code = JoinCode.objects.filter(organisation=org).order_by("pk")[0]
    walk = Walk(
        context,
        live_server.url,
        "member",
        lang,
        AXE,
        screenshots=shots,
        data_words=words,
        data_values=data_values(org),
        skip=MEMBER_SKIP_PATH,
    )
    try:
        walk.run([f"{live_server.url}/m/j/{code.token}/", f"{live_server.url}/m/"])
        walk.expect([("/m/j/no-such-code/", 404)])
        context.add_cookies([member_cookie(org, live_server.url)])
        walk.run([f"{live_server.url}/m/me/"])
    finally:
        context.close()
    print(f"walk member/{lang}: {len(walk.visited)} pages, {len(walk.problems)} problems")
    return walk

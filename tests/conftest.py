"""Shared personas and plain `make_*` helpers (no factory library).

Organisation 1 ("Rose Beauty") has store 1 and store 2:
  owner (老板), manager (店长 of store 1), staff_a and staff_b (store 1), staff_c (store 2).
Organisation 2 has other_owner, whose objects nobody in organisation 1 may ever see.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from huey.contrib.djhuey import HUEY
from hypothesis import settings as hypothesis_settings

from huitouke.accounts.models import Organisation, Role, Store, User
from tests.e2e.conftest import ARGS, CHROMIUM
from tests.helpers import make_user

# CI runs Hypothesis derandomised (the same examples every run, so it cannot pass by chance);
# pinned regressions use @example.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_report_header(config: Any) -> str:
    return f"database: {os.environ.get('DATABASE_URL', 'sqlite (embedded)')}"


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """Every test: a persona's password hashed with MD5, not Argon2 (deliberately slow).

    No test is about the hasher; logging in by password works the same with either.
    """
    # MD5 for speed; argon2 still checks a hash made before the override (the demo's shared one).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]


@pytest.fixture
def huey_immediate() -> Iterator[None]:
    """Run Huey tasks in-process: a job queued on commit (core.tasks) runs right there."""
    previous = HUEY.immediate
    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = previous


@pytest.fixture
def org(db: Any) -> Organisation:
    return Organisation.objects.create(name="Rose Beauty")


@pytest.fixture
def store1(org: Organisation) -> Store:
    return Store.objects.create(organisation=org, name="万达店", sms_signature="玫瑰美容")


@pytest.fixture
def store2(org: Organisation) -> Store:
    return Store.objects.create(organisation=org, name="国贸店")


@pytest.fixture
def owner(org: Organisation, store1: Store) -> User:
    return make_user("owner", org, Role.OWNER, store1, display_name="王老板")


@pytest.fixture
def manager(org: Organisation, store1: Store) -> User:
    return make_user("manager", org, Role.MANAGER, store1, display_name="李店长")


@pytest.fixture
def staff_a(org: Organisation, store1: Store) -> User:
    return make_user("staff_a", org, Role.STAFF, store1, display_name="小美")


@pytest.fixture
def staff_b(org: Organisation, store1: Store) -> User:
    return make_user("staff_b", org, Role.STAFF, store1, display_name="小丽")


@pytest.fixture
def staff_c(org: Organisation, store2: Store) -> User:
    return make_user("staff_c", org, Role.STAFF, store2, display_name="小芳")


@pytest.fixture
def other_org(db: Any) -> Organisation:
    return Organisation.objects.create(name="Other Brand")


@pytest.fixture
def other_store(other_org: Organisation) -> Store:
    return Store.objects.create(organisation=other_org, name="Other store")


@pytest.fixture
def other_owner(other_org: Organisation, other_store: Store) -> User:
    return make_user("other_owner", other_org, Role.OWNER, other_store)


@pytest.fixture
def is_postgres(db: Any) -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    """Unit tests read messages in English; requests still pick their language per request."""
    from django.utils import translation

    with translation.override("en"):
        yield


# One Playwright instance for the whole session: a second sync_playwright() in the same thread
# fails, so every browser test (tests/e2e and the apps' own) uses these fixtures.
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.base_url = live_server.url  # type: ignore[attr-defined]
    yield page
    context.close()

"""messaging 0005: ready-made templates stored with the old code-like names read as words after
the migration, run by Django's migration executor; a name a person chose is kept."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import translation
from tests.conftest import make_user

from huitouke.accounts.models import Organisation, Role, Store
from huitouke.automation.presets import BY_CODE, enable_template
from huitouke.messaging.models import MessageTemplate

BEFORE = ("messaging", "0004_alter_channelconfig_channel_alter_message_channel_and_more")
AFTER = ("messaging", "0005_preset_template_names")


def _migrate(target: tuple[str, str]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


def _old_name(body: str, subject: str, code: str) -> str:
    # What automation.presets named a template before issue 15 (its text and its code).
    name = body[:20] if not subject else subject[:40]
    return f"{name} ({code})"[:100]


@pytest.mark.django_db(transaction=True)
@override_settings(LANGUAGE_CODE="zh-hans")
def test_old_preset_names_are_renamed_and_a_changed_name_is_kept() -> None:
    org = Organisation.objects.create(name="Rose Beauty")
    other = Organisation.objects.create(name="Lily Nails")
    old_apps = _migrate(BEFORE)
    Template = old_apps.get_model("messaging", "MessageTemplate")
    birthday_body = "{{ salutation }}，生日快乐！{{ store }}送上{{ coupon_value }}生日券"
    Template.objects.create(
        organisation_id=org.pk,
        code="birthday_sms",
        name=_old_name(birthday_body, "", "birthday_sms"),
        channel="sms",
        body=birthday_body,
    )
    Template.objects.create(
        organisation_id=org.pk,
        code="birthday_email",
        name=_old_name("", "{{ salutation }}，生日快乐！", "birthday_email"),
        channel="email",
        subject="{{ salutation }}，生日快乐！",
        body="…",
    )
    # She renamed this one herself: it stays.
    Template.objects.create(
        organisation_id=org.pk, code="winback_sms", name="老客召回短信", channel="sms", body="…"
    )
    # A template of her own already carries the word name: the renamed one gets " 2".
    Template.objects.create(
        organisation_id=org.pk, code="", name="节日问候（短信）", channel="sms", body="…"
    )
    Template.objects.create(
        organisation_id=org.pk,
        code="festival_sms",
        name=_old_name("{{ salutation }}，{{ store }}祝您节日快乐", "", "festival_sms"),
        channel="sms",
        body="…",
    )
    # Another shop's template, same code, old name: renamed in its own shop.
    Template.objects.create(
        organisation_id=other.pk,
        code="welcome_task",
        name=_old_name("欢迎{{ salutation }}", "新客欢迎", "welcome_task"),
        channel="task",
        body="…",
    )

    _migrate(AFTER)

    names = dict(MessageTemplate.objects.filter(organisation=org).values_list("code", "name"))
    assert names == {
        "birthday_sms": "生日祝福送券（短信）",
        "birthday_email": "生日祝福送券（电子邮件）",
        "winback_sms": "老客召回短信",
        "": "节日问候（短信）",
        "festival_sms": "节日问候（短信） 2",
    }
    assert MessageTemplate.objects.get(organisation=other).name == (
        "新客欢迎券（员工任务（电话/微信））"
    )
    for name in MessageTemplate.objects.values_list("name", flat=True):
        assert "{{" not in name and "_" not in name


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "index"), [("zh-hans", 0), ("en", 1)])
def test_the_migrated_names_are_the_names_enabling_a_preset_gives_now(
    language: str, index: int
) -> None:
    """The migration's fixed words match what automation.presets names a new template, in each
    language, so an old shop reads the same names as a new one."""
    org = Organisation.objects.create(name="Rose Beauty")
    store = Store.objects.create(organisation=org, name="万达店")
    boss = make_user("boss", org, Role.OWNER, store)
    migration = importlib.import_module("huitouke.messaging.migrations.0005_preset_template_names")
    with translation.override(language):
        for code in BY_CODE:
            enable_template(org, code, actor=boss)
    stored = list(MessageTemplate.objects.filter(organisation=org).values_list("code", "name"))
    assert {code for code, _name in stored} == set(migration.NAMES)
    for code, name in stored:
        assert migration.NAMES[code][index] == name

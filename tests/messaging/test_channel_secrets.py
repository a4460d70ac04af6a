"""Channel credentials (SMS keys, SMTP passwords) are encrypted at rest and never echoed back."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from huitouke.accounts import secret_box
from huitouke.messaging.models import ChannelConfig
from huitouke.messaging.outbox import transport_for

pytestmark = pytest.mark.django_db


def test_saved_secrets_are_encrypted_and_never_shown(org, owner):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(owner)
    sms = {
        "form": "sms",
        "sms-provider": "aliyun",
        "sms-key_id": "LTAI",
        "sms-secret": "sms-s3cret-value",
        "sms-unit_cost": "0.045",
        "sms-is_active": "on",
    }
    email = {
        "form": "email",
        "email-host": "127.0.0.1",
        "email-port": "2525",
        "email-security": "none",
        "email-username": "shop",
        "email-password": "smtp-pa55word",
        "email-from_address": "shop@example.com",
        "email-unit_cost": "0",
        "email-is_active": "on",
    }
    assert client.post(reverse("messaging:channels"), sms).status_code == 302
    assert client.post(reverse("messaging:channels"), email).status_code == 302
    stored = {c.channel: c.settings for c in ChannelConfig.objects.filter(organisation=org)}
    assert secret_box.is_encrypted(stored["sms"]["access_key_secret"])
    assert secret_box.is_encrypted(stored["email"]["password"])
    raw = str(stored)
    assert "sms-s3cret-value" not in raw and "smtp-pa55word" not in raw
    page = client.get(reverse("messaging:channels")).content.decode()
    assert "sms-s3cret-value" not in page and "smtp-pa55word" not in page
    assert "fernet:" not in page

    # A blank secret keeps the stored one (still encrypted once, not twice).
    client.post(reverse("messaging:channels"), {**sms, "sms-secret": ""})
    config = ChannelConfig.objects.get(organisation=org, channel="sms")
    assert config.plain_settings()["access_key_secret"] == "sms-s3cret-value"

    # The transports get the plain values.
    message = SimpleNamespace(sms_signature="玫瑰美容")
    assert transport_for(config, message).config.access_key_secret == "sms-s3cret-value"  # type: ignore[arg-type,attr-defined]
    mail = ChannelConfig.objects.get(organisation=org, channel="email")
    assert transport_for(mail, message).config.password == "smtp-pa55word"  # type: ignore[arg-type,attr-defined]


def test_the_migration_encrypts_plain_values_left_by_older_versions(org):
    config = ChannelConfig.objects.create(
        organisation=org,
        channel="email",
        provider="smtp",
        settings={"host": "mail", "from_address": "a@b.c", "password": "old-plain"},
    )
    migration = importlib.import_module(
        "huitouke.messaging.migrations.0003_encrypt_channel_secrets"
    )
    migration.encrypt_secrets(apps, None)
    migration.encrypt_secrets(apps, None)  # twice: still encrypted once
    config.refresh_from_db()
    assert secret_box.is_encrypted(config.settings["password"])
    assert config.settings["host"] == "mail"
    assert config.plain_settings()["password"] == "old-plain"

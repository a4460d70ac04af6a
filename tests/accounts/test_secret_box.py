"""Secrets at rest: encrypted with the first key, readable with any, rotated to the newest."""

from __future__ import annotations

import base64
import os

import pytest
from django.test import override_settings

from huitouke.accounts import secret_box


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_round_trip_hides_the_plain_text() -> None:
    stored = secret_box.encrypt("sms-key-密钥")
    assert stored.startswith(secret_box.PREFIX)
    assert "sms-key" not in stored
    assert secret_box.decrypt(stored) == "sms-key-密钥"


def test_empty_and_legacy_plain_values() -> None:
    assert secret_box.encrypt("") == ""
    assert secret_box.decrypt("") == ""
    assert secret_box.decrypt("left-by-an-old-version") == "left-by-an-old-version"


def test_rotation_keeps_old_values_readable_and_moves_them_to_the_new_key() -> None:
    old, new = _key(), _key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        stored = secret_box.encrypt("smtp-password")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        assert secret_box.decrypt(stored) == "smtp-password"
        rotated = secret_box.rotate(stored)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert secret_box.decrypt(rotated) == "smtp-password"
        with pytest.raises(secret_box.SecretError):
            secret_box.decrypt(stored)

"""Encrypt the channel credentials stored in plain JSON before secret_box existed."""

from __future__ import annotations

from typing import Any

from django.db import migrations

SECRET_SETTINGS = ("access_key_secret", "secret_key", "password")  # as in models.py


def encrypt_secrets(apps: Any, schema_editor: Any) -> None:
    from huitouke.accounts import secret_box

    ChannelConfig = apps.get_model("messaging", "ChannelConfig")
    for config in ChannelConfig.objects.all():
        values = dict(config.settings or {})
        changed = False
        for key in SECRET_SETTINGS:
            value = values.get(key)
            if isinstance(value, str) and value and not secret_box.is_encrypted(value):
                values[key] = secret_box.encrypt(value)
                changed = True
        if changed:
            ChannelConfig.objects.filter(pk=config.pk).update(settings=values)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_message_updated_at")]

    operations = [migrations.RunPython(encrypt_secrets, migrations.RunPython.noop)]

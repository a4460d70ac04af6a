"""Ready-made rules' message templates stored before their names read as words get those names.

Until issue 15 a ready-made rule named its templates after the text and the preset's code
("{{ salutation }}，生日快乐！{{ st (birthday_sms)"); now it names them "rule (channel)". A stored
template is renamed only while its name still ends with its preset code in brackets, the form
the old code always gave it: a name a person changed keeps what she wrote. The words are fixed
here, not read from the catalogues, so the migration gives the same names whatever changes
later; the shop's language is settings.LANGUAGE_CODE. A name already taken gets " 2", " 3"…
"""

from django.conf import settings
from django.db import migrations

# preset message code -> (Chinese name, English name), as automation.presets now names them.
NAMES = {
    "welcome_sms": ("新客欢迎券（短信）", "New-customer welcome coupon (SMS)"),
    "welcome_task": (
        "新客欢迎券（员工任务（电话/微信））",
        "New-customer welcome coupon (Staff task (call / WeChat))",
    ),
    "birthday_sms": ("生日祝福送券（短信）", "Birthday wish with a coupon (SMS)"),
    "birthday_email": ("生日祝福送券（电子邮件）", "Birthday wish with a coupon (Email)"),
    "winback_sms": ("重要客户沉默挽回（短信）", "Win back a silent important customer (SMS)"),
    "repurchase_sms": ("到期回购提醒（短信）", "Due-for-repurchase reminder (SMS)"),
    "near_tier_sms": ("接近下一等级（短信）", "Close to the next tier (SMS)"),
    "festival_sms": ("节日问候（短信）", "Festival greeting (SMS)"),
}


def _language_index() -> int:
    return 0 if str(settings.LANGUAGE_CODE).lower().startswith("zh") else 1


def rename(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    index = _language_index()
    for template in MessageTemplate.objects.filter(code__in=list(NAMES)).order_by("id"):
        if not template.name.endswith(f" ({template.code})"):
            continue  # renamed by a person: keep her name
        wanted = NAMES[template.code][index]
        taken = set(
            MessageTemplate.objects.filter(organisation_id=template.organisation_id)
            .exclude(pk=template.pk)
            .values_list("name", flat=True)
        )
        name = next(n for n in (wanted, *(f"{wanted} {i}" for i in range(2, 999))) if n not in taken)
        MessageTemplate.objects.filter(pk=template.pk).update(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_alter_channelconfig_channel_alter_message_channel_and_more"),
    ]

    operations = [migrations.RunPython(rename, migrations.RunPython.noop, elidable=True)]

"""The messaging setup an owner changes: message templates (their variables checked), channels
and the organisation's messaging settings; each save is audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from huitouke.audit.actions import record_audit
from huitouke.messaging.models import (
    Channel,
    ChannelConfig,
    MessageTemplate,
    MessagingSettings,
    Provider,
    seal_settings,
)
from huitouke.messaging.rendering import (
    VARIABLES,
    check_text,
)

_PROVIDERS = {
    Channel.EMAIL: {Provider.SMTP},
    Channel.SMS: {Provider.ALIYUN, Provider.TENCENT},
}


def do_save_template(
    template: MessageTemplate, *, actor: Any, request: Any = None
) -> MessageTemplate:
    """Create or change a message template after checking its variables; audited."""
    errors: dict[str, list[str]] = {}
    if not (template.name or "").strip():
        errors.setdefault("name", []).append(_("Give the template a name."))
    if not (template.body or "").strip():
        errors.setdefault("body", []).append(_("Write the message text."))
    for field in ("body", "subject"):
        try:
            check_text(getattr(template, field), field)
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.message_dict[field])
    params = template.sms_params or []
    if not isinstance(params, list) or any(
        not isinstance(p, str) or p not in VARIABLES for p in params
    ):
        errors.setdefault("sms_params", []).append(
            _("List variable names only, in the order of the approved template.")
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        created = template.pk is None
        try:
            with transaction.atomic():
                template.save()
        except IntegrityError as exc:
            raise ValidationError({"name": _("Another template already has this name.")}) from exc
        record_audit(
            actor=actor,
            organisation=template.organisation,
            action="message_template_create" if created else "message_template_edit",
            target=template,
            request=request,
            detail={"name": template.name},
        )
    return template


def do_save_channel(config: ChannelConfig, *, actor: Any, request: Any = None) -> ChannelConfig:
    """Set up or change how a channel sends (provider, credentials, unit cost); audited without secrets."""
    if config.provider not in _PROVIDERS.get(Channel(config.channel), set()):
        raise ValidationError({"provider": _("This provider cannot send on this channel.")})
    if not isinstance(config.settings, dict):
        raise ValidationError({"settings": _("Send the settings as a JSON object.")})
    config.settings = seal_settings(config.settings)  # credentials encrypted at rest
    with transaction.atomic():
        config.save()
        record_audit(
            actor=actor,
            organisation=config.organisation,
            action="channel_config",
            target=config,
            request=request,
            # Keys only: credentials never go into the audit log.
            detail={
                "channel": config.channel,
                "provider": config.provider,
                "keys": sorted(config.settings),
            },
        )
    return config


def do_save_settings(
    rules: MessagingSettings, *, actor: Any, request: Any = None
) -> MessagingSettings:
    """Change the frequency cap and retry settings; audited."""
    with transaction.atomic():
        rules.save()
        record_audit(
            actor=actor,
            organisation=rules.organisation,
            action="messaging_settings",
            target=None,
            request=request,
            detail={"cap_messages": rules.cap_messages, "cap_days": rules.cap_days},
        )
    return rules

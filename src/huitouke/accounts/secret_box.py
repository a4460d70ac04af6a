"""Secrets kept in the database (SMS keys, SMTP passwords, WeCom secrets), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, keyed by settings.FIELD_ENCRYPTION_KEYS:
the first key encrypts, every key decrypts, so a new key can be put in front and old values
re-encrypted at leisure with `rotate` (docs/security.md).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["PREFIX", "SecretError", "decrypt", "encrypt", "is_encrypted", "rotate"]

# Stored values carry a prefix so plain values left by older versions can be told apart.
PREFIX = "fernet:"


class SecretError(ValueError):
    """A stored secret cannot be decrypted with any configured key."""


def _box() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX)


def encrypt(plain: str) -> str:
    """The stored form of a secret ('' stays '': nothing configured)."""
    if not plain:
        return ""
    return PREFIX + _box().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    """The plain secret; values stored before encryption existed are returned as they are."""
    if not stored or not is_encrypted(stored):
        return stored
    try:
        return _box().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SecretError("stored secret does not match any configured key") from exc


def rotate(stored: str) -> str:
    """The same secret re-encrypted with the newest key (plain values get encrypted)."""
    if not stored:
        return stored
    if not is_encrypted(stored):
        return encrypt(stored)
    return PREFIX + _box().rotate(stored[len(PREFIX) :].encode()).decode()

"""WeCom callback crypto: msg_signature (SHA-1) and the AES-256-CBC message envelope.

The envelope is random(16) + msg_len(4, big-endian) + msg + receiveid, PKCS#7-padded to a
multiple of 32 bytes (not AES's 16), encrypted with the 32-byte key decoded from the 43-char
EncodingAESKey; the IV is the key's first 16 bytes. The receiveid is the corp id for
customer-contact callbacks, so a message meant for another corp is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
MAX_AGE_SECONDS = 300


class CallbackError(ValueError):
    """A callback that must be refused; `reason` is for the log, never for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CallbackError("empty plaintext")
    n = data[-1]
    if not 1 <= n <= BLOCK or data[-n:] != bytes([n]) * n:
        raise CallbackError("bad padding")
    return data[:-n]


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts for one connection (token, key, corp id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise CallbackError("EncodingAESKey is not base64") from exc
        if len(encoding_aes_key) != 43 or len(key) != 32:
            raise CallbackError("EncodingAESKey must be 43 characters")
        self.token = token
        self.key = key
        self.receive_id = receive_id

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """SHA-1 hex of token, timestamp, nonce and the encrypted text, sorted and joined."""
        joined = "".join(sorted([self.token, timestamp, nonce, encrypt]))
        return hashlib.sha1(joined.encode()).hexdigest()  # SHA-1 is WeCom's protocol

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, plaintext: bytes, *, random16: bytes | None = None) -> str:
        """The base64 envelope of `plaintext` addressed to this receiveid."""
        body = (
            (random16 or os.urandom(16))
            + struct.pack(">I", len(plaintext))
            + plaintext
            + self.receive_id.encode()
        )
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(_pad(body)) + encryptor.finalize()).decode()

    def decrypt(self, encrypt: str) -> bytes:
        """The message inside an envelope; refused when it is addressed to another receiveid."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except binascii.Error as exc:
            raise CallbackError("ciphertext is not base64") from exc
        if not raw or len(raw) % 16:
            raise CallbackError("ciphertext length")
        decryptor = self._cipher().decryptor()
        body = _unpad(decryptor.update(raw) + decryptor.finalize())
        if len(body) < 20:
            raise CallbackError("short plaintext")
        (length,) = struct.unpack(">I", body[16:20])
        if 20 + length > len(body):
            raise CallbackError("bad msg_len")
        message, receive_id = body[20 : 20 + length], body[20 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise CallbackError("receiveid mismatch")
        return message

    def open(
        self,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        encrypt: str,
        *,
        now: float | None = None,
        max_age: int = MAX_AGE_SECONDS,
    ) -> bytes:
        """Verify signature and freshness, then decrypt (URL echostr and event bodies alike)."""
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, (msg_signature or "").lower()):
            raise CallbackError("bad msg_signature")
        try:
            sent = int(timestamp)
        except ValueError as exc:
            raise CallbackError("bad timestamp") from exc
        # Old (or far-future) timestamps are refused so a captured request cannot be replayed
        # later; within the window the caller refuses a nonce it has already seen.
        if abs((time.time() if now is None else now) - sent) > max_age:
            raise CallbackError("stale timestamp")
        return self.decrypt(encrypt)

    def seal(self, plaintext: bytes, *, timestamp: str, nonce: str) -> tuple[str, str]:
        """(encrypt, msg_signature) for a message, as WeCom would send it (used by stand-ins)."""
        encrypt = self.encrypt(plaintext)
        return encrypt, self.signature(timestamp, nonce, encrypt)

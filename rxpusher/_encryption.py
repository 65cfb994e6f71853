"""End-to-end encrypted channels (``private-encrypted-*``): keys and NaCl secretbox.

Needs the ``encryption`` extra (PyNaCl): ``pip install 'rxpusher[encryption]'``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ._exceptions import DecryptionError, MissingDependencyError

__all__ = ["DecryptionError", "decrypt", "derive_shared_secret", "encrypt"]
from ._protocol import decode_data

KEY_SIZE = 32


def decode_master_key(master_key_b64: str) -> bytes:
    """The 32-byte master key from its base64 form; ``ValueError`` otherwise."""
    return _decode_key(master_key_b64, "encryption_master_key")


def derive_shared_secret(channel: str, master_key: bytes) -> bytes:
    """The channel key the server SDKs derive: SHA-256(channel name + master key)."""
    return hashlib.sha256(channel.encode() + master_key).digest()


def decode_shared_secret(shared_secret_b64: str) -> bytes:
    """The channel key from an auth response's ``shared_secret``; ``ValueError`` otherwise."""
    return _decode_key(shared_secret_b64, "shared_secret")


def _decode_key(encoded: str, what: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} must be base64") from exc
    if len(key) != KEY_SIZE:
        raise ValueError(f"{what} must decode to {KEY_SIZE} bytes, not {len(key)}")
    return key


def require_nacl() -> None:
    """Raise a clear error when PyNaCl is missing."""
    try:
        import nacl.secret  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "encrypted channels need PyNaCl: pip install 'rxpusher[encryption]'"
        ) from exc


def decrypt(key: bytes, payload: Any) -> Any:
    """Open ``{"nonce", "ciphertext"}`` (base64) with ``key``; the decoded JSON value.

    Raises ``ValueError`` when the payload is malformed or does not open.
    """
    import nacl.exceptions
    import nacl.secret

    if not isinstance(payload, Mapping):
        raise ValueError("payload is not an object with nonce and ciphertext")
    try:
        nonce = base64.b64decode(payload["nonce"], validate=True)
        ciphertext = base64.b64decode(payload["ciphertext"], validate=True)
        plaintext = nacl.secret.SecretBox(key).decrypt(ciphertext, nonce)
    except (KeyError, TypeError, binascii.Error, nacl.exceptions.CryptoError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    return decode_data(plaintext.decode("utf-8"))


def encrypt(key: bytes, data: Any, nonce: bytes | None = None) -> dict[str, str]:
    """Seal ``data`` (JSON-encoded unless a string) as the server SDKs do; for tests and servers."""
    import nacl.secret
    import nacl.utils

    text = data if isinstance(data, str) else json.dumps(data)
    nonce = nonce or nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    sealed = nacl.secret.SecretBox(key).encrypt(text.encode("utf-8"), nonce)
    return {
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
    }

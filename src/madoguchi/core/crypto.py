"""Encryption at rest for 個人番号 (and any other field that must never be stored in clear)."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    return Fernet(settings.FIELD_ENCRYPTION_KEY.encode())


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong key or tampered value: never echo the token
        raise ValueError("暗号化された値を復号できません (鍵が違うか、改ざんされています)") from exc


def blind_index(value: str) -> str:
    """Deterministic keyed hash, for equality lookups without decrypting."""
    return hmac.new(settings.FIELD_ENCRYPTION_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def mask(value: str) -> str:
    return "●" * max(0, len(value) - 4) + value[-4:] if value else ""

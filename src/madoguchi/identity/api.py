"""The identity seam the portal depends on (issue 4). Plugins: ``password`` (email + password
account), ``jpki`` (マイナンバーカード via a card-reader bridge or smartphone app) and ``demo``.

Contract (the portal uses only what is below):

- ``PortalIdentity``: who the resident is in this session, and how they proved it.
- ``current_identity(request)``: that identity, or None.
- ``identity_required(level)``: a view decorator; ``"account"`` = any login, ``"card"`` = jpki/demo.
- ``login_url(level=..., next=...)``: where to send someone who must log in first.
- signing (``madoguchi.identity.signing``): how an application is signed with the 署名用 certificate
  and enters 申請管理 exactly like a ぴったりサービス package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any, Literal
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from madoguchi.core.scope import Actor

Level = Literal["account", "card"]
SESSION_KEY = "portal_identity"
CARD_METHODS = frozenset({"jpki", "demo"})


@dataclass(frozen=True)
class PortalIdentity:
    method: str  # "password" | "jpki" | "demo"
    label: str  # for audit rows and Actor.resident(label): "acct:12", "jpki:<serial>", "demo:<resident id>"
    account_id: int | None = None
    resident_id: int | None = None
    municipality_id: int | None = None
    # 基本4情報 (from the certificate for jpki/demo; as registered for password accounts) + kana/postal
    name: str = ""
    name_kana: str = ""
    birth_date: date | None = None
    sex: str = ""
    address: str = ""
    postal_code: str = ""
    email: str = ""
    cert_serial: str = ""
    cert_issuer: str = ""

    @property
    def has_card(self) -> bool:
        return self.method in CARD_METHODS

    def satisfies(self, level: Level) -> bool:
        return level == "account" or self.has_card

    def actor(self) -> Actor:
        return Actor.resident(self.label)

    def prefill(self) -> dict[str, Any]:
        """Keys for ``catalog.schema.prefill_initial`` (``resident.<key>``)."""
        return {
            "name": self.name,
            "name_kana": self.name_kana,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "address": self.address,
            "postal_code": self.postal_code,
        }

    def to_session(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["birth_date"] = self.birth_date.isoformat() if self.birth_date else None
        return out

    @classmethod
    def from_session(cls, raw: Any) -> PortalIdentity | None:
        if not isinstance(raw, dict):
            return None
        try:
            data = dict(raw)
            data["birth_date"] = date.fromisoformat(data["birth_date"]) if data.get("birth_date") else None
            return cls(**data)
        except (TypeError, ValueError, KeyError):
            return None


def current_identity(request: HttpRequest) -> PortalIdentity | None:
    return PortalIdentity.from_session(request.session.get(SESSION_KEY))


def identity_login(request: HttpRequest, identity: PortalIdentity) -> None:
    """Start a resident session (a new session key: no fixation)."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = identity.to_session()


def identity_logout(request: HttpRequest) -> None:
    request.session.flush()


def login_url(*, level: Level = "account", next: str = "/") -> str:
    from django.urls import reverse

    return f"{reverse('identity:login')}?{urlencode({'level': level, 'next': next})}"


def identity_required(level: Level = "account") -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            identity = current_identity(request)
            if identity is None or not identity.satisfies(level):
                return HttpResponseRedirect(login_url(level=level, next=request.get_full_path()))
            request.portal_identity = identity  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

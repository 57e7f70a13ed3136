"""A fake card-reader bridge for tests: a マイナンバーカード made by the test CA (利用者証明用 and 署名用
certificates and keys) that answers ``/auth`` and ``/sign`` as docs/formats/jpki-bridge.md says.

Unit tests call ``auth(challenge)`` and ``sign(xml)``; browser tests route the bridge URL to
``route_handler()`` (Playwright ``context.route(f"{bridge_url()}/**", bridge.route_handler())``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from madoguchi.core.models import Municipality
from madoguchi.identity.pki import auth_cert_issue, challenge_sign, xml_sign
from madoguchi.intake.pki import LocalCA


def _b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


@dataclass
class FakeBridge:
    auth_cert: x509.Certificate
    auth_key: rsa.RSAPrivateKey
    sign_cert: x509.Certificate
    sign_key: rsa.RSAPrivateKey
    chain: list[x509.Certificate]
    calls: list[str] = field(default_factory=list)
    available: bool = True  # False: the browser test answers as if no bridge were running

    @classmethod
    def issue(
        cls, ca: LocalCA, *, label: str = "card", not_before: dt.datetime | None = None, days: int = 5 * 365
    ) -> FakeBridge:
        auth_cert, auth_key = auth_cert_issue(ca, label=label, not_before=not_before, days=days)
        sign_cert, sign_key = ca.signer_issue(label=label, not_before=not_before, days=days)
        return cls(auth_cert, auth_key, sign_cert, sign_key, [ca.intermediate[0]])

    def link(self, *, municipality: Municipality, resident_code: str, source: str = "test") -> None:
        """Link both certificates to a resident, as the 住基 side would (②-1)."""
        from madoguchi.identity.services import auth_certificate_link_apply
        from madoguchi.intake.services import certificate_link_apply

        for cert in (self.auth_cert, self.sign_cert):
            kwargs: dict[str, Any] = {
                "municipality": municipality, "serial": format(cert.serial_number, "X"),
                "issuer": cert.issuer.rfc4514_string(), "resident_code": resident_code,
                "valid_from": cert.not_valid_before_utc, "valid_to": cert.not_valid_after_utc,
            }
            if cert is self.auth_cert:
                auth_certificate_link_apply(**kwargs, source=source)
            else:
                certificate_link_apply(**kwargs, source=source)

    @property
    def auth_serial(self) -> str:
        return format(self.auth_cert.serial_number, "X")

    @property
    def sign_serial(self) -> str:
        return format(self.sign_cert.serial_number, "X")

    # ------------------------------------------------------------------ what the real bridge does
    def auth(self, challenge: str) -> dict[str, Any]:
        """POST /auth {challenge} → {certificate, chain, signature} (DER / signature in base64)."""
        self.calls.append("auth")
        return {
            "certificate": _b64(self.auth_cert),
            "chain": [_b64(c) for c in self.chain],
            "signature": base64.b64encode(challenge_sign(self.auth_key, challenge)).decode(),
        }

    def sign(self, xml: bytes) -> bytes:
        """POST /sign {xml} → {signed_xml}: the enveloped XML-DSig with the 署名用 certificate."""
        self.calls.append("sign")
        return xml_sign(xml, key=self.sign_key, cert=self.sign_cert, chain=self.chain)

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The HTTP API: ``/auth`` and ``/sign`` with JSON bodies (errors as ``{"error": kind}``)."""
        try:
            if path.endswith("/auth") and isinstance(body.get("challenge"), str):
                return 200, self.auth(body["challenge"])
            if path.endswith("/sign") and isinstance(body.get("xml"), str):
                signed = self.sign(base64.b64decode(body["xml"]))
                return 200, {"signed_xml": base64.b64encode(signed).decode()}
        except Exception:
            return 400, {"error": "bad_request"}
        return 404, {"error": "not_found"}

    def route_handler(self, *, origin: str = "*") -> Callable[[Any], None]:
        """A Playwright route handler answering CORS preflights and the two calls."""
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Allow-Private-Network": "true",
        }

        def handler(route: Any) -> None:
            request = route.request
            if not self.available:
                route.abort("connectionrefused")
                return
            if request.method == "OPTIONS":
                route.fulfill(status=204, headers=headers, body="")
                return
            try:
                body = json.loads(request.post_data or "{}")
            except ValueError:
                body = {}
            status, payload = self.handle(request.url.split("?", 1)[0], body if isinstance(body, dict) else {})
            route.fulfill(status=status, headers={**headers, "Content-Type": "application/json"},
                          body=json.dumps(payload))

        return handler

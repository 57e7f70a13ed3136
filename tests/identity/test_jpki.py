"""マイナンバーカード login: challenge–response with the 利用者証明用 certificate, every failure code."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.core.models import AuditEvent, Municipality, Resident
from madoguchi.identity import services
from madoguchi.identity.api import SESSION_KEY, PortalIdentity
from madoguchi.identity.errors import IdentityError
from madoguchi.identity.pki import bridge_origin
from madoguchi.identity.testing import FakeBridge
from madoguchi.identity.views import CHALLENGE_SESSION_KEY
from madoguchi.intake.pki import LocalCA

pytestmark = pytest.mark.django_db


def login(bridge: FakeBridge, *, challenge: services.Challenge | None = None, now: dt.datetime | None = None,
          **overrides: Any) -> PortalIdentity:
    challenge = challenge or services.challenge_new()
    answer = bridge.auth(challenge.value)
    kwargs: dict[str, Any] = {"expected": challenge, "challenge": challenge.value, "now": now, **answer}
    kwargs.update(overrides)
    return services.jpki_login(**kwargs)


def refused(code: str, bridge: FakeBridge, **kwargs: Any) -> None:
    with pytest.raises(IdentityError) as exc:
        login(bridge, **kwargs)
    assert exc.value.code == code, exc.value
    assert f"【{code}】" in str(exc.value)
    row = AuditEvent.objects.filter(action="identity.login_failed").order_by("-id").first()
    assert row is not None and row.detail["code"] == code and row.detail["method"] == "jpki"


def test_login_identifies_the_resident_and_prefills(bridge: FakeBridge, resident: Resident) -> None:
    identity = login(bridge)
    assert identity.method == "jpki" and identity.has_card and identity.satisfies("card")
    assert identity.resident_id == resident.pk and identity.municipality_id == resident.municipality_id
    assert identity.cert_serial == bridge.auth_serial and identity.label == f"jpki:{bridge.auth_serial}"
    assert identity.prefill() == {
        "name": "山田 太郎", "name_kana": "ヤマダ タロウ", "birth_date": dt.date(1985, 4, 1), "sex": "1",
        "address": "架空県みどり市本町1-1", "postal_code": "1000013",
    }
    row = AuditEvent.objects.get(action="identity.login")
    assert row.actor == f"resident:jpki:{bridge.auth_serial}" and row.detail["serial"] == bridge.auth_serial


def test_expired_challenge(bridge: FakeBridge) -> None:
    challenge = services.challenge_new(now=timezone.now() - dt.timedelta(minutes=6))
    refused("identity.challenge_expired", bridge, challenge=challenge)


def test_replayed_challenge_is_refused(bridge: FakeBridge) -> None:
    challenge = services.challenge_new()
    login(bridge, challenge=challenge)
    refused("identity.challenge_missing", bridge, challenge=challenge)


def test_no_challenge_in_session_and_other_challenge(bridge: FakeBridge) -> None:
    refused("identity.challenge_missing", bridge, expected=None)
    other = services.challenge_new()
    refused("identity.challenge_mismatch", bridge, expected=other)


def test_wrong_signature(bridge: FakeBridge) -> None:
    wrong = bridge.auth("madoguchi-jpki-auth:v1:something-else")["signature"]
    refused("identity.signature_invalid", bridge, signature=wrong)
    refused("identity.signature_invalid", bridge, signature="not base64 !")


def test_no_answer_from_bridge(bridge: FakeBridge) -> None:
    refused("identity.response_missing", bridge, certificate="", signature="")
    refused("identity.certificate_invalid", bridge, certificate=base64.b64encode(b"junk").decode())


def test_revoked_certificate(test_ca: LocalCA, municipality: Municipality, resident: Resident) -> None:
    card = FakeBridge.issue(test_ca, label="revoked")
    card.link(municipality=municipality, resident_code=resident.resident_code)
    test_ca.revoke(card.auth_serial, at=timezone.now() - dt.timedelta(hours=1))
    refused("identity.certificate_revoked", card)


def test_revoked_link(test_ca: LocalCA, municipality: Municipality, resident: Resident) -> None:
    card = FakeBridge.issue(test_ca, label="lapsed")
    card.link(municipality=municipality, resident_code=resident.resident_code)
    cert = card.auth_cert
    services.auth_certificate_link_apply(
        municipality=municipality, serial=card.auth_serial, issuer=cert.issuer.rfc4514_string(),
        resident_code=resident.resident_code, valid_from=cert.not_valid_before_utc,
        valid_to=cert.not_valid_after_utc, revoked_at=timezone.now() - dt.timedelta(days=1), reason="lost",
    )
    refused("identity.certificate_revoked", card)


def test_expired_certificate(test_ca: LocalCA, municipality: Municipality, resident: Resident) -> None:
    card = FakeBridge.issue(test_ca, label="old", not_before=timezone.now() - dt.timedelta(days=60), days=30)
    card.link(municipality=municipality, resident_code=resident.resident_code)
    refused("identity.certificate_expired", card)


def test_unknown_serial(test_ca: LocalCA) -> None:
    refused("identity.certificate_unknown", FakeBridge.issue(test_ca, label="unlinked"))


def test_untrusted_ca(other_ca: LocalCA, municipality: Municipality, resident: Resident) -> None:
    card = FakeBridge.issue(other_ca, label="foreign")
    card.link(municipality=municipality, resident_code=resident.resident_code)
    refused("identity.certificate_untrusted", card)
    refused("identity.certificate_untrusted", card, chain=[])


def test_signing_certificate_cannot_log_in(bridge: FakeBridge) -> None:
    from cryptography.hazmat.primitives import serialization

    from madoguchi.identity.pki import challenge_sign

    challenge = services.challenge_new()
    with pytest.raises(IdentityError) as exc:
        services.jpki_login(
            expected=challenge, challenge=challenge.value,
            certificate=base64.b64encode(bridge.sign_cert.public_bytes(serialization.Encoding.DER)).decode(),
            chain=bridge.auth(challenge.value)["chain"],
            signature=base64.b64encode(challenge_sign(bridge.sign_key, challenge.value)).decode(),
        )
    assert exc.value.code == "identity.certificate_wrong_kind"


def test_link_service_is_idempotent(bridge: FakeBridge, municipality: Municipality, resident: Resident) -> None:
    cert = bridge.auth_cert
    outcome = services.auth_certificate_link_apply(
        municipality=municipality, serial=bridge.auth_serial.lower(), issuer=cert.issuer.rfc4514_string(),
        resident_code=resident.resident_code, valid_from=cert.not_valid_before_utc,
        valid_to=cert.not_valid_after_utc,
    )
    assert outcome == "unchanged"


# ------------------------------------------------------------------------------------ views
def _challenge_of(html: str) -> str:
    match = re.search(r'data-challenge="([^"]+)"', html)
    assert match
    return match.group(1)


def test_jpki_page_and_login(client: Client, bridge: FakeBridge, resident: Resident) -> None:
    response = client.get("/account/jpki/?next=/my/x/")
    html = response.content.decode()
    assert 'src="/static/identity/jpki.js"' in html and "<script>" not in html
    assert 'data-bridge="http://127.0.0.1:8765"' in html
    challenge = _challenge_of(html)
    assert client.session[CHALLENGE_SESSION_KEY]["value"] == challenge
    answer = bridge.auth(challenge)
    form = {"challenge": challenge, "certificate": answer["certificate"], "chain": ",".join(answer["chain"]),
            "signature": answer["signature"], "next": "/my/x/"}
    response = client.post("/account/jpki/", form)
    assert response.status_code == 302 and response["Location"] == "/my/x/"
    identity = PortalIdentity.from_session(client.session[SESSION_KEY])
    assert identity is not None and identity.name == resident.name
    assert "山田 太郎" in client.get("/").content.decode()  # the header shows who is logged in
    replay = client.post("/account/jpki/", form)  # the same answer again: the challenge was used
    assert replay.status_code == 400 and "【identity.challenge_missing】" in replay.content.decode()


def test_jpki_post_without_bridge_answer(client: Client, bridge: FakeBridge) -> None:
    challenge = _challenge_of(client.get("/account/jpki/").content.decode())
    response = client.post("/account/jpki/", {"challenge": challenge})
    assert response.status_code == 400
    assert "【identity.response_missing】" in response.content.decode()


def test_csp_allows_the_bridge(client: Client) -> None:
    policy = client.get("/account/jpki/")["Content-Security-Policy"]
    assert f"connect-src 'self' {bridge_origin()}" in policy
    assert "script-src 'self'" in policy


def test_check_config_reports_trust_and_bridge_problems(settings: Any, tmp_path: Any) -> None:
    from madoguchi.identity.methods import methods

    assert methods["jpki"].check_config() == []  # the test CA, its CRLs, a loopback bridge
    settings.MADOGUCHI_JPKI_BRIDGE_URL = "http://bridge.example.com:8765"
    settings.MADOGUCHI_JPKI_TRUST_DIR = str(tmp_path / "empty")
    problems = methods["jpki"].check_config()
    assert any("ループバック" in p for p in problems) and any("ルート証明書" in p for p in problems)

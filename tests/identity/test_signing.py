"""Signing with the 署名用 certificate: the application enters 申請管理 like a ぴったり package, with the
applicant identified by serial; a signer who is not the logged-in resident is refused."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.applications.selectors import application_scope
from madoguchi.applications.storage import blob_store
from madoguchi.core.models import AuditEvent, Municipality, Resident
from madoguchi.core.scope import Actor
from madoguchi.demo.services import PDF_SAMPLE
from madoguchi.identity import services
from madoguchi.identity.api import PortalIdentity
from madoguchi.identity.errors import IdentityError
from madoguchi.identity.signing import server_sign, signed_application_submit, unsigned_application_xml
from madoguchi.identity.testing import FakeBridge
from madoguchi.intake.models import PackageImport
from madoguchi.intake.pki import LocalCA

pytestmark = pytest.mark.django_db


@pytest.fixture
def data() -> dict[str, Any]:
    proof = blob_store(content=PDF_SAMPLE, filename="健康保険証.pdf").as_reference()
    return {
        "name": "山田 太郎", "name_kana": "ヤマダ タロウ", "birth_date": "1985-04-01", "mynumber": "123456789018",
        "proof": proof, "children": [{"child_name": "山田 花子"}, {"child_name": "山田 次郎"}],
    }


def card_login(bridge: FakeBridge) -> PortalIdentity:
    challenge = services.challenge_new()
    return services.jpki_login(expected=challenge, challenge=challenge.value, **bridge.auth(challenge.value))


def xml_for(procedure: Any, data: dict[str, Any], external_id: str = "P-000001") -> bytes:
    return unsigned_application_xml(procedure=procedure, form_version=procedure.current_form.version, data=data,
                                    external_id=external_id)


def test_unsigned_xml_has_items_files_and_server_time(procedure: Any, data: dict[str, Any]) -> None:
    xml = xml_for(procedure, data).decode()
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    assert 'procedureId="test-shinsei"' in xml and 'applicationId="P-000001"' in xml
    assert '<Item id="children" type="group">' in xml and 'type="file"' in xml
    assert f'sha256="{data["proof"]["sha256"]}"' in xml and 'name="健康保険証.pdf"' in xml
    assert "signedAt=" in xml and "Signature" not in xml
    with pytest.raises(ValueError):
        xml_for(procedure, data, external_id="bad id/..")


def test_signed_application_enters_the_department_inbox_identified(
    procedure: Any, data: dict[str, Any], bridge: FakeBridge, resident: Resident, handler: Actor
) -> None:
    identity = card_login(bridge)
    signed = bridge.sign(xml_for(procedure, data))
    result = signed_application_submit(identity=identity, procedure=procedure, signed_xml=signed, data=data,
                                       external_id="P-000001")
    assert result.outcome == "accepted", result
    application = Application.objects.get(pk=result.application_id)
    assert application.reception_number == result.reception_number
    assert application.department.code == "kosodate" and application.channel == "online"
    assert application.applicant_id == resident.pk and not application.needs_review
    assert application_scope(actor=handler).filter(pk=application.pk).exists()
    assert application.attachments.count() == 1
    record = PackageImport.objects.get(application=application)
    assert record.signer_serial == bridge.sign_serial
    again = signed_application_submit(identity=identity, procedure=procedure, signed_xml=signed, data=data,
                                      external_id="P-000001")
    assert again.outcome == "duplicate" and again.reception_number == result.reception_number


def test_signer_not_the_logged_in_resident_is_refused(
    test_ca: LocalCA, municipality: Municipality, procedure: Any, data: dict[str, Any], bridge: FakeBridge,
    other_resident: Resident,
) -> None:
    someone_else = FakeBridge.issue(test_ca, label="sato")
    someone_else.link(municipality=municipality, resident_code=other_resident.resident_code)
    identity = card_login(bridge)
    signed = someone_else.sign(xml_for(procedure, data))
    with pytest.raises(IdentityError) as exc:
        signed_application_submit(identity=identity, procedure=procedure, signed_xml=signed, data=data,
                                  external_id="P-000001")
    assert exc.value.code == "signing.signer_mismatch"
    assert not Application.objects.exists()
    assert AuditEvent.objects.filter(action="identity.signing_refused", detail__code="signing.signer_mismatch").exists()
    unlinked = FakeBridge.issue(test_ca, label="nobody")
    with pytest.raises(IdentityError) as exc:
        signed_application_submit(identity=identity, procedure=procedure, data=data, external_id="P-000001",
                                  signed_xml=unlinked.sign(xml_for(procedure, data)))
    assert exc.value.code == "signing.signer_unknown"


def test_changed_data_stale_and_missing_signature(procedure: Any, data: dict[str, Any], bridge: FakeBridge) -> None:
    identity = card_login(bridge)
    signed = bridge.sign(xml_for(procedure, data))
    changed = {**data, "name": "山田 次郎"}

    def submit(xml: bytes, d: dict[str, Any] = data, external_id: str = "P-000001") -> Any:
        return signed_application_submit(identity=identity, procedure=procedure, signed_xml=xml, data=d,
                                         external_id=external_id)

    for xml, d, code in [(signed, changed, "signing.mismatch"), (b"", data, "signing.missing"),
                         (b"<not xml", data, "signing.malformed"), (xml_for(procedure, data), data, "signing.missing")]:
        with pytest.raises(IdentityError) as exc:
            submit(xml, d)
        assert exc.value.code == code
    with pytest.raises(IdentityError) as exc:
        submit(signed, external_id="P-000002")
    assert exc.value.code == "signing.mismatch"
    old = (timezone.now() - dt.timedelta(hours=2)).isoformat()
    unsigned = xml_for(procedure, data).decode()
    start = unsigned.index('signedAt="') + len('signedAt="')
    stale = unsigned[:start] + old + unsigned[unsigned.index('"', start):]
    with pytest.raises(IdentityError) as exc:
        submit(bridge.sign(stale.encode()))
    assert exc.value.code == "signing.stale"


def test_tampered_signature_is_rejected_by_intake(procedure: Any, data: dict[str, Any], bridge: FakeBridge) -> None:
    identity = card_login(bridge)
    signed = bridge.sign(xml_for(procedure, data))
    tampered = signed.replace(b"SignatureValue>", b"SignatureValue>AAAA", 1)
    result = signed_application_submit(identity=identity, procedure=procedure, signed_xml=tampered, data=data,
                                       external_id="P-000001")
    assert result.outcome == "rejected" and result.code == "signature.invalid"
    assert not Application.objects.exists()


def test_invalid_form_data_comes_back_as_a_rejection(procedure: Any, data: dict[str, Any],
                                                     bridge: FakeBridge) -> None:
    identity = card_login(bridge)
    bad = {k: v for k, v in data.items() if k != "name"}
    result = signed_application_submit(identity=identity, procedure=procedure, data=bad, external_id="P-000003",
                                       signed_xml=bridge.sign(xml_for(procedure, bad, "P-000003")))
    assert result.outcome == "rejected" and result.code == "form.invalid" and result.message


def test_password_account_cannot_sign(procedure: Any, data: dict[str, Any]) -> None:
    identity = PortalIdentity(method="password", label="acct:1", account_id=1)
    with pytest.raises(IdentityError) as exc:
        signed_application_submit(identity=identity, procedure=procedure, signed_xml=b"<x/>", data=data,
                                  external_id="P-1")
    assert exc.value.code == "signing.card_required"


def test_sign_widget_for_jpki_and_demo() -> None:
    jpki = PortalIdentity(method="jpki", label="jpki:1", resident_id=1)
    html = render_to_string("identity/_sign_widget.html", {
        "portal_identity": jpki, "sign_xml_b64": base64.b64encode(b"<A/>").decode(),
        "JPKI_BRIDGE_URL": "http://127.0.0.1:8765",
    })
    assert 'data-method="jpki"' in html and 'data-xml="PEEvPg=="' in html and 'role="alert"' in html
    assert "identity/jpki.js" in html and "<script>" not in html
    demo = render_to_string("identity/_sign_widget.html", {"portal_identity": PortalIdentity(
        method="demo", label="demo:1", resident_id=1), "sign_xml_b64": ""})
    assert 'data-method="demo"' in demo and "jpki.js" not in demo


# ------------------------------------------------------------------------------------ demo card
@pytest.fixture
def demo_trust(settings: Any, test_ca: LocalCA, tmp_path: Path) -> Path:
    """A trust folder of its own (the demo CA is published into it)."""
    folder = tmp_path / "trust"
    folder.mkdir()
    for f in test_ca.path.iterdir():
        if f.is_file():
            shutil.copy(f, folder / f.name)
    settings.MADOGUCHI_PITTARI_TRUST_DIR = str(folder)
    return folder


def test_demo_card_signs_on_the_server(settings: Any, demo_trust: Path, municipality: Municipality,
                                       resident: Resident, procedure: Any, data: dict[str, Any]) -> None:
    from madoguchi.identity.demo import demo_cards_ensure

    settings.DEMO_MODE = True
    assert demo_cards_ensure(municipality=municipality) == [resident]
    assert (demo_trust / "demo-ca-root.pem").is_file()
    identity = services.demo_login(resident_id=resident.pk)
    signed = server_sign(identity=identity, xml=xml_for(procedure, data, "D-000001"))
    result = signed_application_submit(identity=identity, procedure=procedure, signed_xml=signed, data=data,
                                       external_id="D-000001")
    assert result.outcome == "accepted", result
    assert Application.objects.get(pk=result.application_id).applicant_id == resident.pk


def test_server_sign_refused_outside_demo_and_tests(settings: Any, procedure: Any, data: dict[str, Any]) -> None:
    settings.DEMO_MODE, settings.MADOGUCHI_ENV, settings.PRODUCTION = False, "production", True
    identity = PortalIdentity(method="demo", label="demo:1", resident_id=1)
    with pytest.raises(IdentityError) as exc:
        server_sign(identity=identity, xml=xml_for(procedure, data))
    assert exc.value.code == "signing.not_allowed"

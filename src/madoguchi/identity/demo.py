"""Demo cards: a demo CA under ``DATA_DIR/demo-ca`` and, for a handful of demo residents, a
マイナンバーカード (利用者証明用 + 署名用 certificates and keys) with both certificates linked, so the
demo can log in "with a card" (``/account/demo/``) and sign applications on the server.

Created by ``demo_load`` through ``demo_cards_ensure``; idempotent. The CA's public files (root,
intermediate, CRLs) are copied into the trust folder as ``demo-ca-*`` so intake accepts the signatures.
Never used in production: the login view and ``server_sign`` refuse outside DEMO_MODE (and tests).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils import timezone

from madoguchi.core.models import Municipality, Resident
from madoguchi.identity.pki import auth_cert_issue, jpki_trust_dir
from madoguchi.identity.selectors import DEMO_SOURCE
from madoguchi.intake.pki import LocalCA, cert_pem, key_pem, trust_dir

DEMO_CARDS = 5
TRUST_PREFIX = "demo-ca-"


@dataclass(frozen=True)
class DemoCard:
    resident_code: str
    auth_cert: x509.Certificate
    auth_key: rsa.RSAPrivateKey
    sign_cert: x509.Certificate
    sign_key: rsa.RSAPrivateKey
    chain: list[x509.Certificate]


def demo_ca_dir() -> Path:
    return Path(settings.DATA_DIR) / "demo-ca"


def demo_ca() -> LocalCA:
    path = demo_ca_dir()
    if (path / "root.pem").is_file() and (path / "private" / "intermediate.key").is_file():
        return LocalCA(path)
    return LocalCA.create(path)


def _publish_trust(ca: LocalCA) -> None:
    """Copy the CA's public files (never the keys) into the trust folder(s)."""
    ca.crl_publish()  # a fresh CRL (30 days) each time the demo is loaded
    for folder in {trust_dir(), jpki_trust_dir()}:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("root.pem", "intermediate.pem", "root-crl.pem", "intermediate-crl.pem"):
            source = ca.path / name
            target = folder / f"{TRUST_PREFIX}{name}"
            if source.is_file() and (not target.is_file() or target.read_bytes() != source.read_bytes()):
                shutil.copyfile(source, target)


def _age(resident: Resident) -> int:
    today = timezone.localdate()
    return today.year - resident.birth_date.year - ((today.month, today.day) < (resident.birth_date.month,
                                                                               resident.birth_date.day))


def demo_card_residents(*, municipality: Municipality) -> list[Resident]:
    """A few residents who make good demos: a parent, an older person, a young adult, a spouse, anyone."""
    residents = list(
        Resident.objects.filter(municipality=municipality, moved_out_on__isnull=True).order_by("resident_code")
    )
    households_with_children = {r.household_code for r in residents if r.relationship == "子"}
    wanted = [
        lambda r: r.relationship == "世帯主" and r.household_code in households_with_children and _age(r) < 50,
        lambda r: _age(r) >= 70,
        lambda r: 18 <= _age(r) < 30,
        lambda r: r.relationship in {"妻", "夫"} and r.household_code in households_with_children,
        lambda r: _age(r) >= 18,
    ]
    picked: list[Resident] = []
    for rule in wanted:
        for r in residents:
            if r not in picked and rule(r):
                picked.append(r)
                break
    for r in residents:  # fewer than DEMO_CARDS profiles matched: any adults
        if len(picked) >= DEMO_CARDS:
            break
        if r not in picked and _age(r) >= 18:
            picked.append(r)
    return picked[:DEMO_CARDS]


def _card_dir(ca: LocalCA, resident_code: str) -> Path:
    return ca.private / "cards" / resident_code


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _card_load(ca: LocalCA, resident_code: str) -> DemoCard | None:
    folder = _card_dir(ca, resident_code)
    names = ["auth.pem", "auth.key", "sign.pem", "sign.key"]
    if not all((folder / n).is_file() for n in names):
        return None
    return DemoCard(
        resident_code=resident_code,
        auth_cert=x509.load_pem_x509_certificate((folder / "auth.pem").read_bytes()),
        auth_key=_load_key(folder / "auth.key"),
        sign_cert=x509.load_pem_x509_certificate((folder / "sign.pem").read_bytes()),
        sign_key=_load_key(folder / "sign.key"),
        chain=[ca.intermediate[0]],
    )


def _card_issue(ca: LocalCA, resident_code: str) -> DemoCard:
    folder = _card_dir(ca, resident_code)
    folder.mkdir(parents=True, exist_ok=True)
    auth_cert, auth_key = auth_cert_issue(ca, label=f"demo {resident_code}")
    sign_cert, sign_key = ca.signer_issue(label=f"demo {resident_code}")
    for name, data in (("auth.pem", cert_pem(auth_cert)), ("auth.key", key_pem(auth_key)),
                       ("sign.pem", cert_pem(sign_cert)), ("sign.key", key_pem(sign_key))):
        (folder / name).write_bytes(data)
    return DemoCard(resident_code, auth_cert, auth_key, sign_cert, sign_key, [ca.intermediate[0]])


def demo_cards_ensure(*, municipality: Municipality) -> list[Resident]:
    """The demo CA, one card per demo resident, both certificates linked (idempotent)."""
    from madoguchi.identity.services import auth_certificate_link_apply
    from madoguchi.intake.services import certificate_link_apply

    ca = demo_ca()
    _publish_trust(ca)
    residents = demo_card_residents(municipality=municipality)
    for resident in residents:
        card = _card_load(ca, resident.resident_code) or _card_issue(ca, resident.resident_code)
        for cert, apply in ((card.auth_cert, auth_certificate_link_apply), (card.sign_cert, certificate_link_apply)):
            apply(
                municipality=municipality, serial=format(cert.serial_number, "X"),
                issuer=cert.issuer.rfc4514_string(), resident_code=resident.resident_code,
                valid_from=cert.not_valid_before_utc, valid_to=cert.not_valid_after_utc, source=DEMO_SOURCE,
            )
    return residents


def demo_card(*, resident_id: int) -> DemoCard | None:
    """The demo card of a resident (None when the resident has none or the CA is gone)."""
    resident = Resident.objects.filter(pk=resident_id).first()
    path = demo_ca_dir()
    if resident is None or not (path / "root.pem").is_file():
        return None
    return _card_load(LocalCA(path), resident.resident_code)

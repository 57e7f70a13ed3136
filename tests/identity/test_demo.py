"""The demo card: only in DEMO_MODE, never in production; cards created idempotently by demo_load."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from madoguchi.core.models import AuditEvent, Municipality, Resident
from madoguchi.identity import services
from madoguchi.identity.api import SESSION_KEY, PortalIdentity
from madoguchi.identity.demo import demo_ca_dir, demo_card, demo_cards_ensure
from madoguchi.identity.errors import IdentityError
from madoguchi.identity.methods import methods, methods_available
from madoguchi.identity.models import AuthCertificateLink
from madoguchi.identity.selectors import demo_residents
from madoguchi.intake.models import CertificateLink
from madoguchi.intake.pki import LocalCA

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(municipality: Municipality) -> list[Resident]:
    people = [
        ("10000000001", "青木 一郎", dt.date(1985, 1, 1), "世帯主", "H1"),
        ("10000000002", "青木 花子", dt.date(1987, 1, 1), "妻", "H1"),
        ("10000000003", "青木 陽太", dt.date(2020, 1, 1), "子", "H1"),
        ("10000000004", "石田 梅", dt.date(1940, 1, 1), "世帯主", "H2"),
        ("10000000005", "上田 翼", dt.date(2002, 1, 1), "世帯主", "H3"),
        ("10000000006", "江藤 誠", dt.date(1970, 1, 1), "世帯主", "H4"),
        ("10000000007", "大野 実", dt.date(1960, 1, 1), "世帯主", "H5"),
    ]
    return [
        Resident.objects.create(municipality=municipality, resident_code=code, name=name, name_kana="",
                                birth_date=birth, sex="1", address="架空県みどり市本町1-1", household_code=h,
                                relationship=rel)
        for code, name, birth, rel, h in people
    ]


@pytest.fixture
def demo_env(settings: Any, test_ca: LocalCA, tmp_path: Path) -> None:
    folder = tmp_path / "trust"
    folder.mkdir()
    for f in test_ca.path.iterdir():
        if f.is_file():
            shutil.copy(f, folder / f.name)
    settings.MADOGUCHI_PITTARI_TRUST_DIR = str(folder)
    settings.DEMO_MODE, settings.PRODUCTION = True, False


def test_cards_for_a_handful_of_residents_idempotently(demo_env: None, municipality: Municipality,
                                                       family: list[Resident]) -> None:
    picked = demo_cards_ensure(municipality=municipality)
    assert len(picked) == 5 and family[2] not in picked  # no child
    assert [r.name for r in picked[:4]] == ["青木 一郎", "石田 梅", "上田 翼", "青木 花子"]
    assert (demo_ca_dir() / "root.pem").is_file()
    links = (AuthCertificateLink.objects.count(), CertificateLink.objects.count())
    assert links == (5, 5)
    card = demo_card(resident_id=picked[0].pk)
    assert card is not None
    again = demo_cards_ensure(municipality=municipality)
    assert again == picked
    assert (AuthCertificateLink.objects.count(), CertificateLink.objects.count()) == links
    assert demo_card(resident_id=picked[0].pk).auth_cert == card.auth_cert  # type: ignore[union-attr]
    assert demo_residents(municipality=municipality) == sorted(picked, key=lambda r: r.resident_code)


def test_demo_login_page_and_login(client: Client, demo_env: None, municipality: Municipality,
                                   family: list[Resident]) -> None:
    picked = demo_cards_ensure(municipality=municipality)
    html = client.get("/account/demo/").content.decode()
    assert picked[0].name in html and family[2].name not in html
    response = client.post("/account/demo/", {"resident": picked[1].pk, "next": "/my/"})
    assert response.status_code == 302
    identity = PortalIdentity.from_session(client.session[SESSION_KEY])
    assert identity is not None and identity.method == "demo" and identity.has_card
    assert identity.resident_id == picked[1].pk and identity.name == "石田 梅"
    assert AuditEvent.objects.filter(action="identity.login", detail__method="demo").exists()
    refused = client.post("/account/demo/", {"resident": family[2].pk})  # a resident without a demo card
    assert refused.status_code == 400 and "identity.demo_unknown" in refused.content.decode()


@pytest.mark.parametrize(("demo_mode", "production"), [(False, False), (True, True), (False, True)])
def test_demo_refused_outside_demo_mode_and_in_production(
    client: Client, settings: Any, demo_env: None, municipality: Municipality, family: list[Resident],
    demo_mode: bool, production: bool,
) -> None:
    picked = demo_cards_ensure(municipality=municipality)
    settings.DEMO_MODE, settings.PRODUCTION = demo_mode, production
    assert client.get("/account/demo/").status_code == 404
    assert client.post("/account/demo/", {"resident": picked[0].pk}).status_code == 404
    assert SESSION_KEY not in client.session
    with pytest.raises(IdentityError) as exc:
        services.demo_login(resident_id=picked[0].pk)
    assert exc.value.code == "identity.demo_unavailable"
    assert "demo" not in [m.key for m in methods_available()]
    assert "デモ用カード" not in client.get("/account/login/").content.decode()
    if production and demo_mode:
        assert methods["demo"].check_config()

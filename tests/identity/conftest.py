"""Fixtures for identity: a test CA trusted for login and signing, a resident with a card (both
certificates linked), a fake card-reader bridge, fast password hashing and a clean rate-limit cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from madoguchi.core.models import Municipality, Resident
from madoguchi.identity.testing import FakeBridge
from madoguchi.intake.pki import LocalCA


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA.create(tmp_path_factory.mktemp("other-ca"))


@pytest.fixture(autouse=True)
def _identity_settings(settings: Any, test_ca: LocalCA, tmp_path: Path) -> None:
    settings.MADOGUCHI_PITTARI_TRUST_DIR = str(test_ca.path)
    settings.DATA_DIR = tmp_path / "data"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


@pytest.fixture
def resident(municipality: Municipality) -> Resident:
    return Resident.objects.create(
        municipality=municipality, resident_code="12345678901", name="山田 太郎", name_kana="ヤマダ タロウ",
        birth_date=dt.date(1985, 4, 1), sex="1", postal_code="1000013", address="架空県みどり市本町1-1",
        household_code="H1",
    )


@pytest.fixture
def other_resident(municipality: Municipality) -> Resident:
    return Resident.objects.create(
        municipality=municipality, resident_code="12345678902", name="佐藤 花子", name_kana="サトウ ハナコ",
        birth_date=dt.date(1990, 1, 2), sex="2", address="架空県みどり市本町2-2", household_code="H2",
    )


@pytest.fixture
def bridge(test_ca: LocalCA, municipality: Municipality, resident: Resident) -> FakeBridge:
    """The resident's card in a fake bridge, both certificates linked to the resident."""
    card = FakeBridge.issue(test_ca, label="yamada")
    card.link(municipality=municipality, resident_code=resident.resident_code)
    return card

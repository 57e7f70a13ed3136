"""Shared fixtures: a municipality with the default departments, workflows, procedures and staff.

Everything runs against the real database named by DATABASE_URL (PostgreSQL under `make test`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from madoguchi.catalog.services import department_ensure_defaults, procedure_upsert, workflow_ensure_defaults
from madoguchi.core.jp.codes import municipality_check_digit
from madoguchi.core.models import Municipality, Role, StaffAssignment
from madoguchi.core.scope import Actor, staff_actor

os.environ.setdefault("MADOGUCHI_ENV", "test")

# Shared, noisy 2-core machines: no per-example deadline. In CI the examples are derived from the
# test (derandomize) and no example database is replayed, so a run is reproducible from the commit.
hypothesis_settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile(
    "ci", parent=hypothesis_settings.get_profile("dev"), derandomize=True, database=None, print_blob=True
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_sessionstart(session: pytest.Session) -> None:
    """`make test` (and CI) must run on PostgreSQL: never pass silently on the SQLite fallback."""
    from django.conf import settings

    if os.environ.get("CI") and not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise pytest.UsageError(
            "CI runs the suite on PostgreSQL: DATABASE_URL is not set (test services failed?)"
        )


SIMPLE_FORM: dict[str, Any] = {
    "title": "テスト申請書",
    "sections": [
        {
            "id": "applicant",
            "title": "申請者",
            "fields": [
                {"id": "name", "type": "text", "label": "氏名", "required": True, "prefill": "resident.name"},
                {
                    "id": "name_kana",
                    "type": "kana",
                    "label": "氏名カナ",
                    "required": True,
                    "prefill": "resident.name_kana",
                },
                {"id": "birth_date", "type": "date", "label": "生年月日", "required": True, "max": "today"},
                {"id": "mynumber", "type": "mynumber", "label": "個人番号"},
                {
                    "id": "proof",
                    "type": "file",
                    "label": "添付書類",
                    "accept": ["application/pdf", "image/png"],
                },
            ],
        },
        {
            "id": "children",
            "title": "児童",
            "fields": [
                {
                    "id": "children",
                    "type": "group",
                    "label": "児童",
                    "min_items": 0,
                    "max_items": 5,
                    "fields": [
                        {"id": "child_name", "type": "text", "label": "児童氏名", "required": True},
                        {"id": "child_mynumber", "type": "mynumber", "label": "児童の個人番号"},
                    ],
                },
            ],
        },
    ],
}


def make_code(base: str) -> str:
    return base + str(municipality_check_digit(base))


@pytest.fixture
def municipality(db: Any) -> Municipality:
    workflow_ensure_defaults()
    m = Municipality.objects.create(code=make_code("99999"), name="みどり市", prefecture="架空県")
    department_ensure_defaults(municipality=m)
    return m


@pytest.fixture
def other_municipality(db: Any) -> Municipality:
    m = Municipality.objects.create(code=make_code("99998"), name="あおば町", prefecture="架空県")
    department_ensure_defaults(municipality=m)
    return m


def _spec(code: str, department: str, approval: list[str], days: int = 10) -> dict[str, Any]:
    return {
        "procedure_id": code,
        "name": f"テスト手続 {code}",
        "department": department,
        "category": "子育て",
        "standard_days": days,
        "fee": 0,
        "approval_chain": approval,
        "form": SIMPLE_FORM,
    }


@pytest.fixture
def procedure(municipality: Municipality) -> Any:
    """A 申請 (with 決裁) in 子育て支援課."""
    return procedure_upsert(municipality=municipality, spec=_spec("test-shinsei", "kosodate", ["approver"]))


@pytest.fixture
def notification(municipality: Municipality) -> Any:
    """A 届出 (no 決裁) in 介護保険課."""
    return procedure_upsert(municipality=municipality, spec=_spec("test-todokede", "kaigo", []))


@pytest.fixture
def make_staff(municipality: Municipality) -> Callable[..., Actor]:
    def make(username: str, *roles: tuple[str, str | None], m: Municipality | None = None) -> Actor:
        target = m or municipality
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password("demo-pass-2026")
        user.save()
        for role, dept in roles:
            StaffAssignment.objects.create(
                user=user,
                municipality=target,
                role=role,
                department=target.departments.get(code=dept) if dept else None,
            )
        return staff_actor(user, municipality=target)

    return make


@pytest.fixture
def handler(make_staff: Callable[..., Actor]) -> Actor:
    return make_staff("kosodate", (Role.HANDLER, "kosodate"))


@pytest.fixture
def approver(make_staff: Callable[..., Actor]) -> Actor:
    return make_staff("kessai", (Role.APPROVER, "kosodate"), (Role.APPROVER, "kaigo"))


@pytest.fixture
def kaigo_handler(make_staff: Callable[..., Actor]) -> Actor:
    return make_staff("kaigo", (Role.HANDLER, "kaigo"))


@pytest.fixture
def valid_data() -> dict[str, Any]:
    return {
        "name": "山田 太郎",
        "name_kana": "やまだ たろう",
        "birth_date": "昭和60年4月1日",
        "mynumber": "123456789018",
        "children": [{"child_name": "山田 花子"}],
    }


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Celery tasks run inline (as in the demo); production sends them to their queues."""
    from madoguchi.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before

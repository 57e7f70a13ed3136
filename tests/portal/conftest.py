from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from madoguchi.identity.api import SESSION_KEY, PortalIdentity


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Submission rate limits live in the shared cache (Redis): each test starts with none used."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _tasks_run_inline() -> Any:
    """Mail tasks run in-process here (under `make test` Celery has a real broker and no worker)."""
    from madoguchi.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def portal_login(client: Client) -> Callable[..., PortalIdentity]:
    """Put a resident identity in the test client's session (what an identity plugin does on login)."""

    def login(identity: PortalIdentity, c: Client | None = None) -> PortalIdentity:
        target = c or client
        session = target.session
        session[SESSION_KEY] = identity.to_session()
        session.save()
        return identity

    return login


@pytest.fixture
def account_identity(municipality: Any) -> PortalIdentity:
    return PortalIdentity(method="password", label="acct:1", account_id=1, municipality_id=municipality.pk,
                          name="山田 太郎", name_kana="ヤマダ タロウ", email="taro@example.jp")

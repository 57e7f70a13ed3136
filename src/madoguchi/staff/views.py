"""The department back office (/staff/). Thin: build the actor, call a selector or a service, render."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from madoguchi.applications import selectors, services
from madoguchi.applications.models import Channel
from madoguchi.applications.storage import blob_path
from madoguchi.catalog.schema import display_rows, parse_definition, walk_fields
from madoguchi.core.csvexport import ENCODINGS, csv_stream
from madoguchi.core.errors import MadoguchiError, PermissionDeniedError
from madoguchi.core.scope import Actor, staff_actor
from madoguchi.demo.services import DEMO_ACCOUNTS, DEMO_PASSWORD
from madoguchi.handoff.selectors import handoff_jobs_for
from madoguchi.payments.selectors import payment_summary
from madoguchi.printing.services import application_print

View = Callable[..., HttpResponseBase]


def staff_view(view: Callable[..., HttpResponseBase]) -> View:
    """Login required; passes the scoped Actor; turns a MadoguchiError into a message a clerk understands."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            actor = staff_actor(request.user)
        except PermissionDeniedError as exc:
            return render(request, "staff/error.html", {"error": exc}, status=403)
        try:
            return view(request, actor, *args, **kwargs)
        except MadoguchiError as exc:
            if getattr(request, "htmx", False):  # a fragment request gets a fragment, not a page
                return render(request, "staff/_error_fragment.html", {"error": exc}, status=200)
            if request.method == "GET" and isinstance(exc, PermissionDeniedError):
                return render(request, "staff/error.html", {"error": exc, "actor": actor}, status=403)
            messages.error(request, str(exc))
        return redirect(_safe_back(request))

    return wrapper


def _safe_back(request: HttpRequest) -> str:
    """Where to return after a refused action: the referring page of this site, never another site."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("staff:inbox")


class LoginView(auth_views.LoginView):
    template_name = "staff/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if settings.DEMO_MODE:
            context["demo_accounts"] = DEMO_ACCOUNTS
            context["demo_password"] = DEMO_PASSWORD
        return context


@staff_view
def inbox(request: HttpRequest, actor: Actor) -> HttpResponse:
    if not actor.sees_applications:
        if actor.opens_dx:  # DX推進: the aggregate figures, never residents' applications
            return redirect("dx:dashboard")
        return render(request, "staff/no_applications.html", {"actor": actor})
    filters = selectors.InboxFilters.from_querydict(request.GET)
    partial = getattr(request, "htmx", False)
    params = {k: str(v) for k, v in request.GET.items() if k != "page" and v}
    context: dict[str, Any] = {
        "actor": actor,
        "page": selectors.inbox_page(actor=actor, filters=filters),
        "filters": filters,
        "query": urlencode(params),
        # the status chips keep every other filter (a search stays a search)
        "chip_query": urlencode({k: v for k, v in params.items() if k != "status"}),
    }
    if not partial:  # the filter form's choices are only needed for the whole page
        context |= dataclasses.asdict(selectors.inbox_options(actor=actor)) | {"channels": Channel.choices}
    template = "staff/_inbox_results.html" if partial else "staff/inbox.html"
    return render(request, template, context)


@staff_view
def export_csv(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    """The filtered inbox (all pages) as CSV for Excel: UTF-8 with BOM, or cp932 with ?encoding=cp932."""
    encoding = request.GET.get("encoding", "utf-8-sig")
    if encoding not in ENCODINGS:
        raise MadoguchiError(
            "文字コードは UTF-8 (BOM付き) か Shift_JIS を選んでください。", code="export.encoding"
        )
    filters = selectors.InboxFilters.from_querydict(request.GET)
    services.application_export_record(actor=actor, filters=dataclasses.asdict(filters), encoding=encoding)
    rows = selectors.inbox_export_rows(actor=actor, filters=filters)
    response = StreamingHttpResponse(
        csv_stream(selectors.EXPORT_COLUMNS, rows, encoding=encoding),
        content_type=f"text/csv; charset={'Shift_JIS' if encoding == 'cp932' else 'utf-8'}",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="applications-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _detail_context(actor: Actor, pk: int) -> dict[str, Any]:
    application = selectors.application_detail(actor=actor, pk=pk)
    definition = parse_definition(application.form_version.definition)
    labels = {f.id: f.label for _, f, depth in walk_fields(definition) if depth == 0}
    timeline = selectors.application_timeline(application=application)
    for event in timeline:  # 補正 rows name fields by their label, as the applicant saw them
        event.field_labels = [labels.get(f, f) for f in event.detail.get("fields", [])]  # type: ignore[attr-defined]
    return {
        "actor": actor,
        "application": application,
        "rows": display_rows(definition, application.data),
        "fields": list(labels.items()),
        "correction_labels": [labels.get(f, f) for f in application.correction_fields],
        "timeline": timeline,
        "attachments": selectors.application_attachments(application=application),
        "actions": selectors.application_actions(application=application, actor=actor),
        "permissions": selectors.application_permissions(application=application, actor=actor),
        "handoff_jobs": handoff_jobs_for(application=application),
    }


@staff_view
def detail(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    context = _detail_context(actor, pk)
    context["payment_summary"] = payment_summary(application=context["application"])
    context["resident_messages"] = context["application"].resident_messages.all()
    context["issued_documents"] = context["application"].issued_documents.all()
    context["visit_reservations"] = context["application"].reservations.filter(status="booked")
    return render(request, "staff/detail.html", context)


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


@require_POST
@staff_view
def transition(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    application = selectors.application_detail(actor=actor, pk=pk)
    to = request.POST.get("to", "")
    application = services.application_act(
        application=application,
        to=to,
        actor=actor,
        reason=request.POST.get("reason", ""),
        expected_version=_version(request),
    )
    if to == "approved" and application.status.code != "approved":
        messages.success(request, f"{application.reception_number} の決裁 (途中の段) を記録しました。")
    elif to == "approved":
        messages.success(request, f"{application.reception_number} を決裁しました。")
    else:
        messages.success(
            request, f"{application.reception_number} を「{application.status.name}」にしました。"
        )
    return redirect("staff:detail", pk=pk)


@staff_view
def correction(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    context = _detail_context(actor, pk)
    if request.method == "POST":
        try:
            application = services.application_request_correction(
                application=context["application"],
                actor=actor,
                fields=request.POST.getlist("fields"),
                reason=request.POST.get("reason", ""),
                expected_version=_version(request),
            )
        except MadoguchiError as exc:
            context["error"] = exc
            context["selected"] = request.POST.getlist("fields")
            context["reason"] = request.POST.get("reason", "")
            return render(request, "staff/correction.html", context, status=400)
        messages.success(request, f"{application.reception_number} に補正を依頼しました。")
        return redirect("staff:detail", pk=pk)
    return render(request, "staff/correction.html", context)


@require_POST
@staff_view
def assign(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    application = selectors.application_detail(actor=actor, pk=pk)
    assignee = actor.user if request.POST.get("assignee") == "me" else None
    services.application_assign(
        application=application, assignee=assignee, actor=actor, expected_version=_version(request)
    )
    messages.success(request, "担当者を設定しました。" if assignee else "担当者を外しました。")
    return redirect("staff:detail", pk=pk)


@require_POST
@staff_view
def comment(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    application = selectors.application_detail(actor=actor, pk=pk)
    services.application_comment(application=application, actor=actor, body=request.POST.get("body", ""))
    messages.success(request, "メモを追加しました。")
    return redirect("staff:detail", pk=pk)


@require_POST
@staff_view
def reveal_mynumber(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    application = selectors.application_detail(actor=actor, pk=pk)
    value = services.application_reveal_mynumber(
        application=application, actor=actor, path=request.POST.get("path", "")
    )
    response = render(request, "staff/_mynumber.html", {"value": value})
    response["Cache-Control"] = "no-store"
    return response


@staff_view
def attachment(request: HttpRequest, actor: Actor, pk: int, attachment_id: int) -> FileResponse:
    application = selectors.application_detail(actor=actor, pk=pk)
    item = application.attachments.select_related("blob").filter(pk=attachment_id).first()
    if item is None:
        raise Http404
    response = FileResponse(
        blob_path(item.blob_id).open("rb"),
        content_type=item.blob.mime,
        as_attachment=request.GET.get("download") == "1",
        filename=item.filename,
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    return response


@staff_view
def form_pdf(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """The application's 申請書 as a PDF to print (和暦, Noto CJK embedded; the print is audited)."""
    application = selectors.application_detail(actor=actor, pk=pk)
    response = HttpResponse(
        application_print(actor=actor, application=application), content_type="application/pdf"
    )
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=False, filename=f"申請書-{application.reception_number}.pdf")
        or "inline"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@staff_view
def resident_message(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """お知らせ to the applicant (マイページ)."""
    from madoguchi.portal.services import resident_message_send

    application = selectors.application_detail(actor=actor, pk=pk)
    resident_message_send(application=application, actor=actor, body=request.POST.get("body", ""))
    messages.success(request, f"{application.reception_number} の申請者にお知らせを送りました。")
    return redirect("staff:detail", pk=pk)


@require_POST
@staff_view
def issue_document(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    """交付文書 (PDF) for the applicant to download in マイページ."""
    from madoguchi.portal.services import document_issue

    application = selectors.application_detail(actor=actor, pk=pk)
    upload = request.FILES.get("document")
    if upload is None:
        messages.error(request, "【document.missing】交付するPDFファイルを選んでください。")
        return redirect("staff:detail", pk=pk)
    document_issue(
        application=application, actor=actor, content=upload.read(), filename=upload.name or "document.pdf"
    )
    messages.success(request, f"{application.reception_number} の交付文書を登録しました。")
    return redirect("staff:detail", pk=pk)

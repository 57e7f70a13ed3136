"""書かない窓口: the clerk's session screen, the resident's signing screen (/counter/kiosk/), the 帳票
PDF, and the figures. Thin views: services write, selectors read."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from madoguchi.applications.storage import blob_store
from madoguchi.catalog.schema import display_rows, validate_submission
from madoguchi.core.errors import MadoguchiError
from madoguchi.core.scope import Actor
from madoguchi.counter import selectors, services
from madoguchi.counter.models import ItemStatus, LifeEvent, SessionStatus
from madoguchi.portal.forms import build_views, errors_for, group_action, parse_fields, unseal
from madoguchi.staff.views import staff_view

try:  # WeasyPrint takes ~1.5 s to import: pay it when a worker loads the counter's views, not at the first print
    import madoguchi.printing.render  # noqa: F401
except ImportError:  # printing is optional where Pango is missing; the PDF link is then hidden
    pass

ANSWER_FIELDS = ("phone", "previous_address", "move_date", "new_postal_code", "new_address")


def _session(actor: Actor, token: str) -> Any:
    session = selectors.session_for(actor=actor, token=token)
    if session is None:
        raise Http404("窓口セッションが見つかりません。")
    return session


@staff_view
def index(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "counter/index.html", {
        "actor": actor,
        "sessions": selectors.sessions_today(actor=actor),
        "totals": selectors.efficiency_totals(actor=actor),
    })


@require_POST
@staff_view
def new(request: HttpRequest, actor: Actor) -> HttpResponse:
    session = services.session_open(actor=actor)
    return redirect("counter:session", token=session.token)


@staff_view
def session(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    s = _session(actor, token)
    problems = services.session_check(session=s) if s.items.exists() and s.status == SessionStatus.OPEN else {}
    return render(request, "counter/session.html", {
        "actor": actor,
        "s": s,
        "members": selectors.members_view(s),
        "readers": selectors.readers(),
        "demo_cards": selectors.demo_cards(actor=actor),
        "events": LifeEvent.choices,
        "items": s.items.select_related("procedure", "procedure__department", "application"),
        "problems": problems,
        "pdf_available": selectors.printing_available(),
    })


@require_POST
@staff_view
def card(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    s = _session(actor, token)
    services.session_read_card(
        session=s, actor=actor, plugin=str(request.POST.get("plugin", "demo")), pin=str(request.POST.get("pin", "")),
        payload=str(request.POST.get("payload", "")) or None,
    )
    messages.success(request, "カードを読み取りました。")
    return HttpResponseRedirect(reverse("counter:session", kwargs={"token": token}) + "#household")


@require_POST
@staff_view
def members(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    s = _session(actor, token)
    rows = []
    count = int(request.POST.get("count", "0") or 0)
    for i in range(min(count + 1, 20)):
        rows.append({k: str(request.POST.get(f"m{i}-{k}", "")).strip()
                     for k in ("name", "kana", "birth_date", "sex", "relationship")})
    services.session_set_members(session=s, actor=actor, members=rows)
    return HttpResponseRedirect(reverse("counter:session", kwargs={"token": token}) + "#interview")


@require_POST
@staff_view
def interview(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    s = _session(actor, token)
    answers: dict[str, Any] = {k: str(request.POST.get(k, "")).strip() for k in ANSWER_FIELDS}
    answers["insurance"] = str(request.POST.get("insurance", "")) or None
    answers["daycare_wanted"] = request.POST.get("daycare_wanted") == "on"
    answers["care_needed"] = request.POST.get("care_needed") == "on"
    items = services.session_interview(session=s, actor=actor, events=request.POST.getlist("events"), answers=answers)
    messages.success(request, f"必要な手続が {len(items)} 件見つかりました。")
    return HttpResponseRedirect(reverse("counter:session", kwargs={"token": token}) + "#procedures")


@staff_view
def item(request: HttpRequest, actor: Actor, token: str, item_id: int) -> HttpResponse:
    s = _session(actor, token)
    it = s.items.select_related("procedure").filter(pk=item_id).first()
    if it is None:
        raise Http404()
    definition = it.procedure.current_form.parsed()
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and s.status == SessionStatus.OPEN:
        action = str(request.POST.get("action", "save"))
        upload_errors: dict[str, list[str]] = {}
        fields = [f for _, f in definition.top_level_fields()]
        data = parse_fields(fields, request.POST, request.FILES, it.data, store_file=blob_store,
                            upload_errors=upload_errors)
        if action.startswith(("add:", "remove:")):
            group_action(definition, data, action)
            services.item_save(item=it, actor=actor, data=data)
            return HttpResponseRedirect(request.path + "#f-" + action.split(":", 1)[1].split("[", 1)[0])
        it = services.item_save(item=it, actor=actor, data=data)
        errors = errors_for(services.item_problems(item=it, definition=definition), {f.id for f in fields})
        for path, problems in upload_errors.items():
            errors.setdefault(path, []).extend(problems)
        if not errors:
            messages.success(request, f"「{it.procedure.name}」を保存しました。")
            return HttpResponseRedirect(reverse("counter:session", kwargs={"token": token}) + "#procedures")
    sections = [(sec, build_views(sec.fields, it.data, errors)) for sec in definition.sections]
    return render(request, "counter/item.html", {
        "actor": actor, "s": s, "item": it, "definition": definition, "sections": sections,
        "error_list": [(p, m) for p, ms in errors.items() for m in ms],
    }, status=422 if errors else 200)


@require_POST
@staff_view
def item_toggle(request: HttpRequest, actor: Actor, token: str, item_id: int) -> HttpResponse:
    s = _session(actor, token)
    it = s.items.filter(pk=item_id).first()
    if it is None:
        raise Http404()
    services.item_include(item=it, actor=actor, include=request.POST.get("include") == "1")
    return HttpResponseRedirect(reverse("counter:session", kwargs={"token": token}) + "#procedures")


@require_POST
@staff_view
def ready(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    s = _session(actor, token)
    try:
        services.session_ready(session=s, actor=actor)
    except MadoguchiError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("counter:session", kwargs={"token": token}) + "#procedures")
    messages.success(request, "署名用の画面（/counter/kiosk/）に表示しました。住民の方に確認と署名をお願いしてください。")
    return redirect("counter:session", token=token)


@require_POST
@staff_view
def cancel(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    services.session_cancel(session=_session(actor, token), actor=actor)
    messages.success(request, "セッションを中止しました。")
    return redirect("counter:index")


@staff_view
def print_pdf(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    s = _session(actor, token)
    if not s.items.filter(status=ItemStatus.SUBMITTED).exists():
        raise Http404("署名済みの申請がありません。")
    from madoguchi.counter.printed import forms_pdf_for

    pdf = forms_pdf_for(s.pk, s.token)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="counter-{s.token}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------ the resident's screen
@staff_view
def kiosk(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The tablet facing the resident, logged in as the clerk: shows the clerk's session waiting for a
    signature, large type; polls until there is one."""
    s = selectors.kiosk_session(actor=actor)
    context: dict[str, Any] = {"actor": actor, "s": s}
    if s is not None:
        forms = []
        for i in s.items.filter(status=ItemStatus.INCLUDED).select_related("procedure", "procedure__department"):
            definition = i.procedure.current_form.parsed()
            forms.append((i, display_rows(definition, unseal(definition, i.data))))
        context["forms"] = forms
    template = "counter/_kiosk_body.html" if request.htmx else "counter/kiosk.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@require_POST
@staff_view
def kiosk_sign(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    s = _session(actor, token)
    png = None
    raw = str(request.POST.get("signature", ""))
    if raw.startswith("data:image/png;base64,"):
        try:
            png = base64.b64decode(raw.split(",", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            png = None
    typed_name = str(request.POST.get("signed_name", "")).strip()
    if png is None and not typed_name:
        messages.error(request, "【counter.signature_required】画面に署名するか、お名前を入力してください。")
        return redirect("counter:kiosk")
    services.session_sign(session=s, actor=actor, signature_png=png, confirmed=request.POST.get("confirm") == "on")
    return render(request, "counter/kiosk_done.html", {"actor": actor, "s": s})


# ------------------------------------------------------------------ figures and the paper baseline
@staff_view
def stats(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "counter/stats.html", {
        "actor": actor, "rows": selectors.efficiency_rows(actor=actor), "totals": selectors.efficiency_totals(actor=actor),
    })




# ------------------------------------------------------------------ the paper way (baseline, 代理入力)
@staff_view
def blank(request: HttpRequest, actor: Actor, code: str) -> HttpResponse:
    """One procedure typed from a blank form, as the back office does with a paper application: the
    baseline the counter session is measured against (every field typed by the clerk)."""
    from madoguchi.catalog.models import Procedure

    services.require_clerk(actor)
    procedure = Procedure.objects.filter(municipality=actor.municipality, code=code, is_active=True).first()
    if procedure is None:
        raise Http404()
    definition = procedure.current_form.parsed()
    fields = [f for _, f in definition.top_level_fields()]
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    if request.method == "POST":
        upload_errors: dict[str, list[str]] = {}
        data = parse_fields(fields, request.POST, request.FILES, {}, store_file=blob_store, upload_errors=upload_errors)
        action = str(request.POST.get("action", "save"))
        if action.startswith(("add:", "remove:")):
            group_action(definition, data, action)
        else:
            check = validate_submission(definition, data, today=timezone.localdate())
            errors = errors_for(check.errors, {f.id for f in fields})
            if not errors and not upload_errors:
                application = services.paper_submit(procedure=procedure, data=data, actor=actor)
                messages.success(request, f"{procedure.name} を受け付けました（{application.reception_number}）。")
                return redirect("counter:blank_index")
            for path, problems in upload_errors.items():
                errors.setdefault(path, []).extend(problems)
    sections = [(sec, build_views(sec.fields, data, errors)) for sec in definition.sections]
    return render(request, "counter/blank.html", {
        "actor": actor, "procedure": procedure, "definition": definition, "sections": sections,
        "error_list": [(p, m) for p, ms in errors.items() for m in ms],
    }, status=422 if errors else 200)


@staff_view
def blank_index(request: HttpRequest, actor: Actor) -> HttpResponse:
    from madoguchi.catalog.models import Procedure

    procedures = Procedure.objects.filter(municipality=actor.municipality, is_active=True).select_related("department")
    return render(request, "counter/blank_index.html", {"actor": actor, "procedures": procedures})


@staff_view
def missing(request: HttpRequest, actor: Actor, token: str) -> HttpResponse:
    """Everything still missing, across all the session's procedures, on one page: the clerk asks these
    questions once and never opens a form that is already complete."""
    s = _session(actor, token)
    items = list(s.items.filter(status=ItemStatus.INCLUDED).select_related("procedure", "procedure__department"))

    def open_fields(it: Any, definition: Any) -> tuple[list[Any], dict[str, list[str]]]:
        problems = services.item_problems(item=it, definition=definition)
        roots = {e.path.split(".")[0].split("[")[0] for e in problems}
        fields = [f for _, f in definition.top_level_fields() if f.id in roots]
        errors = {f"i{it.pk}.{k}": v for k, v in errors_for(problems, roots).items()}
        return fields, errors

    if request.method == "POST" and s.status == SessionStatus.OPEN:
        action = str(request.POST.get("action", "save"))
        upload_errors: dict[str, list[str]] = {}
        for it in items:
            definition = it.procedure.current_form.parsed()
            shown = request.POST.getlist("shown")
            fields = [f for _, f in definition.top_level_fields() if f"i{it.pk}.{f.id}" in shown]
            if not fields:
                continue
            data = dict(it.data)
            data.update(parse_fields(fields, request.POST, request.FILES, it.data, prefix=f"i{it.pk}",
                                     store_file=blob_store, upload_errors=upload_errors))
            prefix = f"i{it.pk}."
            kind, _sep, target = action.partition(":")
            if kind in {"add", "remove"} and target.startswith(prefix):
                group_action(definition, data, f"{kind}:{target[len(prefix):]}")
            services.item_save(item=it, actor=actor, data=data)
        if not action.startswith(("add:", "remove:")) and not upload_errors:
            if not services.session_check(session=s):
                if action == "ready":  # the last answers given: hand over to the resident in the same step
                    services.session_ready(session=s, actor=actor)
                    messages.success(request, "すべての手続の入力が終わり、署名用の画面（/counter/kiosk/）に表示しました。"
                                              "住民の方に確認と署名をお願いしてください。")
                    return redirect("counter:session", token=token)
                messages.success(request, "すべての手続の入力が終わりました。")
                return HttpResponseRedirect(reverse("counter:session", kwargs={"token": token}) + "#procedures")
        items = list(s.items.filter(status=ItemStatus.INCLUDED).select_related("procedure", "procedure__department"))
    blocks = []
    all_errors: dict[str, list[str]] = {}
    for it in items:
        definition = it.procedure.current_form.parsed()
        fields, errors = open_fields(it, definition)
        if not fields:
            continue
        show_errors = errors if request.method == "POST" else {}
        all_errors.update(show_errors)
        views = build_views(fields, it.data, show_errors, prefix=f"i{it.pk}")
        blocks.append((it, views))
    return render(request, "counter/missing.html", {
        "actor": actor, "s": s, "blocks": blocks,
        "error_list": [(p, m) for p, ms in all_errors.items() for m in ms],
    })

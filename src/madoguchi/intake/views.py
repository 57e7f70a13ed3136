"""/staff/intake/quarantine/: refused packages of the staff member's municipality, with re-import."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from madoguchi.core.scope import Actor
from madoguchi.intake import selectors, services
from madoguchi.intake.errors import REJECTION_CODES
from madoguchi.staff.views import staff_view


@staff_view
def quarantine(request: HttpRequest, actor: Actor) -> HttpResponse:
    items = list(selectors.quarantine_list(actor=actor)[:200])
    return render(
        request, "intake/quarantine.html", {"actor": actor, "items": items, "codes": REJECTION_CODES}
    )


@require_POST
@staff_view
def reimport(request: HttpRequest, actor: Actor, pk: int) -> HttpResponseBase:
    item = get_object_or_404(selectors.quarantine_list(actor=actor), pk=pk)
    result = services.quarantine_reimport(item=item, actor=actor)
    if result.outcome == "rejected":
        messages.error(request, f"【{result.code}】{result.message}")
    else:
        messages.success(request, f"取り込みました: {result.reception_number} ({result.outcome})")
    return redirect("intake:quarantine")

"""Who may open /dx/: staff holding DX推進 or 管理者 for the whole municipality. They steer with
aggregate figures and plans; no page under /dx/ shows a resident's application (need-to-know)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render

from madoguchi.core.errors import MadoguchiError, PermissionDeniedError
from madoguchi.core.models import Role
from madoguchi.core.scope import Actor, staff_actor

DX_ROLES = frozenset({Role.DX.value, Role.ADMIN.value})


def require_dx(actor: Actor) -> None:
    if actor.municipality is None or not actor.opens_dx:
        raise PermissionDeniedError("DX推進課の職員（または管理者）だけが開けます。", code="dx.forbidden")


def dx_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Login required, DX推進/管理者 only; passes the Actor; a MadoguchiError becomes a message."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            actor = staff_actor(request.user)
            require_dx(actor)
        except PermissionDeniedError as exc:
            return render(request, "staff/error.html", {"error": exc}, status=403)
        try:
            return view(request, actor, *args, **kwargs)
        except MadoguchiError as exc:
            if request.method == "GET":
                return render(request, "staff/error.html", {"error": exc, "actor": actor}, status=400)
            messages.error(request, str(exc))
            return redirect(request.path)

    return wrapper

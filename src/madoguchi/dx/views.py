"""/dx/: the DX推進課's pages. Thin: the actor, a selector or a service, a template."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from madoguchi.core.scope import Actor
from madoguchi.dx.access import dx_view


@dx_view
def dashboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "dx/dashboard.html", {"actor": actor})

"""Placeholder views; the identity plugins replace them."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from madoguchi.identity.api import identity_logout


def login(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ログイン画面（準備中）")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    identity_logout(request)
    return HttpResponseRedirect("/")

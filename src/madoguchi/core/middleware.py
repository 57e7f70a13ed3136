"""Content-Security-Policy: scripts only from our static files or carrying this response's nonce
(Alpine's CSP build, htmx from our static), no inline style, no framing."""

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _bridge_connect_src() -> str:
    """The マイナンバーカード card-reader bridge (MADOGUCHI_JPKI_BRIDGE_URL) is the one other origin pages
    may fetch from (docs/formats/jpki-bridge.md)."""
    from madoguchi.identity.pki import bridge_origin

    origin = bridge_origin()
    return f"; connect-src 'self' {origin}" if origin else ""


POLICY += _bridge_connect_src()


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # a fresh nonce per response: templates may mark a script ``nonce="{{ request.csp_nonce }}"``
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if not request.path.startswith(("/admin/", "/api/v1/docs")):
            response.setdefault("Content-Security-Policy", POLICY.format(nonce=nonce))
        response.setdefault("Referrer-Policy", "same-origin")
        return response


class JapaneseFirstLocaleMiddleware:
    """Japanese unless the user chose another language (the language cookie set by /i18n/setlang/).

    Unlike Django's LocaleMiddleware, the browser's Accept-Language is ignored: a clerk's PC set up in
    English must not turn the municipality's screens English by surprise.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

"""Resident login pages (/account/…): a chooser, email + password, マイナンバーカード (jpki) and the
demo card. Thin: forms clean, services decide, ``identity_login`` starts the session."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.core.errors import ValidationFailed
from madoguchi.identity import services
from madoguchi.identity.api import identity_login, identity_logout
from madoguchi.identity.errors import IdentityError
from madoguchi.identity.forms import DemoLoginForm, JpkiResponseForm, LoginForm, SignupForm
from madoguchi.identity.methods import demo_allowed, methods, methods_available
from madoguchi.identity.pki import bridge_url
from madoguchi.identity.selectors import demo_residents

CHALLENGE_SESSION_KEY = "identity_jpki_challenge"
LOGIN_LIMIT = (20, 600)  # attempts per IP per window (seconds)
SIGNUP_LIMIT = (10, 3600)


def _default_next() -> str:
    try:
        return reverse("portal:my")
    except NoReverseMatch:
        return "/"


def safe_next(request: HttpRequest) -> str:
    """The ``next`` parameter if it is a path on this site, else the default page after login."""
    value = request.POST.get("next") or request.GET.get("next") or ""
    if (
        value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    ):
        return value
    return _default_next()


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _limited(request: HttpRequest, action: str, limit: tuple[int, int]) -> bool:
    return services.rate_limit_hit(action=action, key=_client_ip(request), limit=limit[0], window=limit[1])


def _error(code: str) -> IdentityError:
    return IdentityError(code)


@never_cache
def login(request: HttpRequest) -> HttpResponse:
    level = request.GET.get("level", "account")
    available = methods_available()
    if level == "card":
        available = [m for m in available if m.card]
    return render(request, "identity/login.html", {
        "methods": available, "level": level, "next": safe_next(request),
    })


@never_cache
@require_http_methods(["GET", "POST"])
def password_login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    error: IdentityError | None = None
    status = 200
    if request.method == "POST":
        if _limited(request, "login", LOGIN_LIMIT):
            error, status = _error("identity.rate_limited"), 429
        elif form.is_valid():
            try:
                identity = services.account_login(email=form.cleaned_data["email"],
                                                  password=form.cleaned_data["password"])
            except IdentityError as exc:
                error, status = exc, 400
            else:
                identity_login(request, identity)
                return HttpResponseRedirect(safe_next(request))
        else:
            error, status = _error("identity.invalid_credentials"), 400
    return render(request, "identity/password_login.html", {
        "form": form, "error": error, "next": safe_next(request),
    }, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    error: Any = None
    field_errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if _limited(request, "signup", SIGNUP_LIMIT):
            error, status = _error("identity.rate_limited"), 429
        elif form.is_valid():
            data = form.cleaned_data
            try:
                account = services.account_signup(
                    email=data["email"], password=data["password"], display_name=data["display_name"],
                    name_kana=data["name_kana"], postal_code=data["postal_code"], address=data["address"],
                    birth_date=data["birth_date"],
                )
            except ValidationFailed as exc:
                error, status = exc, 400
                field_errors = dict(exc.details) if isinstance(exc.details, dict) else {}
            else:
                identity = services.account_login(email=account.email, password=data["password"])
                identity_login(request, identity)
                return HttpResponseRedirect(safe_next(request))
        else:
            error, status = ValidationFailed("入力内容に誤りがあります。", code="identity.signup_invalid"), 400
        for name, errors in form.errors.items():
            field_errors.setdefault(name, " ".join(str(e) for e in errors))
    return render(request, "identity/signup.html", {
        "form": form, "error": error, "field_errors": field_errors, "next": safe_next(request),
        "fields": _signup_fields(form, field_errors),
    }, status=status)


def _signup_fields(form: SignupForm, errors: dict[str, str]) -> list[dict[str, Any]]:
    specs: list[tuple[str, str, str, bool, str, str]] = [
        # name, type, autocomplete, required, inputmode, hint
        ("display_name", "text", "name", True, "", _("住民票のとおりでなくてもかまいません。")),
        ("name_kana", "text", "off", False, "", _("全角カタカナ (例: ヤマダ タロウ)")),
        ("email", "email", "email", True, "email", ""),
        ("password", "password", "new-password", True, "",
         _("%(n)d文字以上。ほかのサービスと同じパスワードは使わないでください。") % {"n": services.MIN_PASSWORD}),
        ("password_confirm", "password", "new-password", True, "", ""),
        ("birth_date", "text", "bday", False, "", _("例: 1985-04-01 または 昭和60年4月1日")),
        ("postal_code", "text", "postal-code", False, "numeric", _("7桁の数字 (例: 1000013)")),
        ("address", "text", "street-address", False, "", ""),
    ]
    return [
        {
            "name": name, "type": kind, "autocomplete": auto, "required": required, "inputmode": mode,
            "hint": hint, "label": form.fields[name].label, "value": form.data.get(name, ""),
            "error": errors.get(name, ""),
        }
        for name, kind, auto, required, mode, hint in specs
    ]


@never_cache
@require_http_methods(["GET", "POST"])
def jpki(request: HttpRequest) -> HttpResponse:
    error: IdentityError | None = None
    status = 200
    if request.method == "POST":
        expected = services.Challenge.from_session(request.session.pop(CHALLENGE_SESSION_KEY, None))
        form = JpkiResponseForm(request.POST)
        if _limited(request, "login", LOGIN_LIMIT):
            error, status = _error("identity.rate_limited"), 429
        elif not form.is_valid():
            error, status = _error("identity.response_missing"), 400
        else:
            try:
                identity = services.jpki_login(
                    expected=expected,
                    challenge=form.cleaned_data["challenge"],
                    certificate=form.cleaned_data["certificate"],
                    chain=form.chain_list(),
                    signature=form.cleaned_data["signature"],
                )
            except IdentityError as exc:
                error, status = exc, 400
            else:
                identity_login(request, identity)
                return HttpResponseRedirect(safe_next(request))
    challenge = services.challenge_new()
    request.session[CHALLENGE_SESSION_KEY] = challenge.to_session()
    return render(request, "identity/jpki.html", {
        "challenge": challenge.value, "bridge_url": bridge_url(), "error": error, "next": safe_next(request),
        "method": methods["jpki"],
    }, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def demo(request: HttpRequest) -> HttpResponse:
    if not demo_allowed():
        raise Http404("demo only")
    error: IdentityError | None = None
    status = 200
    if request.method == "POST":
        form = DemoLoginForm(request.POST)
        if form.is_valid():
            try:
                identity = services.demo_login(resident_id=form.cleaned_data["resident"])
            except IdentityError as exc:
                error, status = exc, 400
            else:
                identity_login(request, identity)
                return HttpResponseRedirect(safe_next(request))
        else:
            error, status = _error("identity.demo_unknown"), 400
    return render(request, "identity/demo.html", {
        "residents": demo_residents(), "error": error, "next": safe_next(request),
    }, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    identity_logout(request)
    return HttpResponseRedirect("/")

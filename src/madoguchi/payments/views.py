"""Payment pages (/pay/). Thin: call a service or selector, render or redirect."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.core.errors import MadoguchiError, PermissionDeniedError
from madoguchi.identity.api import current_identity, login_url
from madoguchi.payments import demo, selectors, services
from madoguchi.payments.gateways import WebhookRejected
from madoguchi.payments.models import Outcome, PaymentState

MAX_WEBHOOK_BYTES = 64 * 1024
DEFAULT_NEXT = "/my/"


def _safe_next(request: HttpRequest, value: str) -> str | None:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None


@require_POST
def start(request: HttpRequest, application_id: int) -> HttpResponseBase:
    """The resident's 「手数料を支払う」 button (the portal may call ``payment_start`` itself)."""
    next_url = _safe_next(request, request.POST.get("next", "")) or DEFAULT_NEXT
    identity = current_identity(request)
    if identity is None:
        return redirect(login_url(next=next_url))
    application = selectors.application_for_payment(pk=application_id)
    if application is None:
        raise Http404
    try:
        _, url = services.payment_start(
            application=application,
            actor=identity.actor(),
            plugin=request.POST.get("plugin", "demo"),
            return_url=next_url if next_url.startswith("/") else DEFAULT_NEXT,
        )
    except MadoguchiError as exc:
        status = 403 if isinstance(exc, PermissionDeniedError) else 400
        return render(request, "payments/error.html", {"error": exc, "next": next_url}, status=status)
    return redirect(url)


@never_cache
@require_http_methods(["GET", "POST"])
def demo_checkout(request: HttpRequest, token: str) -> HttpResponseBase:
    """The demo provider's page (デモ決済 — no real money)."""
    charge = demo.demo_charge(token=token)
    if charge is None:
        raise Http404
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in demo.CHOICES:
                return redirect(
                    demo.demo_checkout_submit(
                        token=token, choice=action, hold=request.POST.get("hold") == "1"
                    )
                )
            if action in {"held", "duplicate"}:
                outcome = demo.demo_send(token=token, what=action)  # type: ignore[arg-type]
            elif action.startswith("late-"):
                outcome = demo.demo_send(token=token, what="late", late_choice=action.removeprefix("late-"))
            else:
                raise MadoguchiError("操作が正しくありません。", code="payment.demo.action")
        except MadoguchiError as exc:
            return render(
                request, "payments/demo_checkout.html", {"charge": charge, "error": exc}, status=400
            )
        messages.info(
            request,
            f"通知を送りました。結果: {Outcome(outcome.outcome).label}"
            f"（状態の変更: {'あり' if outcome.changed else 'なし'}）",
        )
        return redirect("payments:demo_checkout", token=token)
    return render(request, "payments/demo_checkout.html", {"charge": charge})


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, plugin: str) -> HttpResponse:
    """Provider → us. Signed (no CSRF token: the signature is the check). 200 for every message
    recorded (including duplicates and unknown payments), 4xx for one we refuse."""
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"error": "payment.webhook.too_large"}, status=413)
    body = request.body
    try:
        outcome = services.payment_webhook(plugin=plugin, body=body, headers=request.headers)
    except WebhookRejected as exc:
        status = 404 if exc.code == "payment.webhook.plugin" else 400
        return JsonResponse({"error": exc.code, "message": exc.message}, status=status)
    return JsonResponse({"outcome": outcome.outcome, "changed": outcome.changed})


@never_cache
def return_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The browser back from the provider: 確認中 until the webhook came, then on to ``?next=``."""
    payment = selectors.payment_get(pk=pk)
    if payment is None or not selectors.return_signature_ok(pk, request.GET.get("s", "")):
        raise Http404
    payment = services.payment_return(payment=payment, params=request.GET)
    next_url = _safe_next(request, request.GET.get("next", ""))
    if payment.state != PaymentState.PENDING and next_url:
        if payment.state == PaymentState.PAID:
            messages.success(request, "手数料の支払いを確認しました。")
        else:
            messages.warning(request, f"手数料は支払われていません（{payment.get_state_display()}）。")
        return redirect(next_url)
    return render(
        request,
        "payments/return.html",
        {"payment": payment, "next": next_url, "pending": payment.state == PaymentState.PENDING},
    )

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: database and cache status as JSON (200 when both answer)."""
    status: dict[str, object] = {}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        status["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        status["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        cache.set("healthz", "1", 5)
        ok = cache.get("healthz") == "1"
        status["cache"] = {"ok": ok, "backend": cache.__class__.__name__}
    except Exception as exc:
        status["cache"] = {"ok": False, "error": type(exc).__name__}
    healthy = all(v["ok"] for v in status.values())  # type: ignore[index]
    return JsonResponse({"status": "ok" if healthy else "degraded", **status}, status=200 if healthy else 503)

"""The session's 帳票 PDF, rendered as soon as the resident has signed — in the background, while the
resident reads 「受け付けました」 and the clerk turns back to their screen — so 「帳票を印刷」 answers at once.

The PDF lives only in the cache (Redis in production; it holds personal data, so only for a short time)
and a render in progress is marked there, so a print request never starts a second render: it waits
for the first one (bounded), then renders itself only if that one failed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

TTL = 15 * 60  # seconds the rendered PDF is kept
WAIT = 20.0  # seconds a print request waits for a render in progress


def _key(token: Any) -> str:
    return f"counter:forms-pdf:{token}"


def render(session_id: int) -> bytes:
    from madoguchi.counter.models import CounterSession, ItemStatus
    from madoguchi.printing import forms_pdf

    session = CounterSession.objects.get(pk=session_id)
    applications = [
        i.application
        for i in session.items.filter(status=ItemStatus.SUBMITTED).select_related("application").order_by("order", "pk")
        if i.application is not None
    ]
    pdf: bytes = forms_pdf(applications=applications, title="窓口受付 帳票")
    return pdf


def prerender_after_commit(session_id: int, token: Any) -> None:
    """Start rendering in a background thread once the signing transaction has committed."""
    from django.db import transaction

    def start() -> None:
        if not cache.add(_key(token) + ":busy", 1, timeout=int(WAIT * 3)):
            return  # already rendering or rendered
        threading.Thread(target=_work, args=(session_id, token), daemon=True, name="forms-pdf").start()

    transaction.on_commit(start)


def _work(session_id: int, token: Any) -> None:
    try:
        cache.set(_key(token), render(session_id), timeout=TTL)
    except Exception:  # the print request renders itself then
        logger.exception("counter.prerender_failed", extra={"session": session_id})
    finally:
        cache.delete(_key(token) + ":busy")
        connection.close()


def forms_pdf_for(session_id: int, token: Any) -> bytes:
    """The session's PDF: from the background render if it is there or nearly there, else rendered now."""
    deadline = time.monotonic() + WAIT
    while True:
        pdf = cache.get(_key(token))
        if pdf is not None:
            return bytes(pdf)
        if cache.get(_key(token) + ":busy") is None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    pdf = render(session_id)
    cache.set(_key(token), pdf, timeout=TTL)
    return pdf

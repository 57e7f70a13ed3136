"""The session's 帳票 PDF, ready the moment the clerk prints.

Two renders run in the background, never in a request:

* **ahead of the signature**: when the clerk hands the session to the resident's screen, the forms are
  rendered as signing would file them (the same checked data, names, date, and the 受付番号 the
  department's counter would give next) while the resident reads and signs;
* **after the signature**: the filed applications' sheets are built from the database and compared
  (``printing.sheets_digest``: every printed value) with the sheets rendered ahead. Equal: that PDF is
  the one. Different in anything at all (another application took the next 受付番号, the clerk changed
  a value, a second clerk had already filed this household's procedure, midnight passed): rendered
  again from the filed applications. What is printed is therefore always exactly what was filed.

The PDF lives only in the cache (Redis in production; it holds personal data, so only for a short time)
and a render in progress is marked there, so a print request never starts a second render: it waits
for the first one (bounded), then renders itself only if that one failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

TTL = 15 * 60  # seconds a rendered PDF is kept
WAIT = 20.0  # seconds a print request (or the after-signature render) waits for a render in progress
TITLE = "窓口受付 帳票"


def _key(token: Any, kind: str = "") -> str:
    return f"counter:forms-pdf:{token}" + (f":{kind}" if kind else "")


# ------------------------------------------------------------------------------------------- sheets
def filed_sheets(session_id: int) -> list[Any]:
    """The sheets of the applications the session filed, in the session's order."""
    from madoguchi.counter.models import CounterSession, ItemStatus
    from madoguchi.printing.render import form_sheet

    session = CounterSession.objects.get(pk=session_id)
    items = (
        session.items.filter(status=ItemStatus.SUBMITTED)
        .select_related(
            "application__municipality",
            "application__procedure",
            "application__department",
            "application__form_version",
            "application__applicant",
        )
        .order_by("order", "pk")
    )
    definitions: dict[int, Any] = {}
    return [form_sheet(application=i.application, definitions=definitions) for i in items if i.application]


def expected_sheets(session_id: int) -> list[Any] | None:
    """The sheets signing would file now (unsaved applications, nothing written), or None when the
    session cannot be signed as it stands."""
    from madoguchi.applications.models import Application, Channel, NumberSequence
    from madoguchi.applications.services import _applicant_names, fiscal_year_start
    from madoguchi.catalog.models import FormVersion
    from madoguchi.catalog.schema import validate_submission
    from madoguchi.core.jp.wareki import era_year_code
    from madoguchi.counter.models import CounterSession, ItemStatus
    from madoguchi.counter.services import _signed_data
    from madoguchi.printing.render import form_sheet

    session = CounterSession.objects.select_related("municipality", "visitor").get(pk=session_id)
    now = timezone.now()
    today = timezone.localdate(now)
    era = era_year_code(fiscal_year_start(today))
    items = list(
        session.items.filter(status=ItemStatus.INCLUDED)
        .select_related("procedure__department", "procedure__municipality")
        .order_by("order", "pk")
    )
    prefixes = {f"{era}-{i.procedure.department.short_name}" for i in items}
    last = dict(
        NumberSequence.objects.filter(municipality=session.municipality, prefix__in=prefixes).values_list(
            "prefix", "last"
        )
    )
    taken: Counter[str] = Counter()
    sheets = []
    definitions: dict[int, Any] = {}
    for item in items:
        procedure = item.procedure
        form = FormVersion.objects.filter(procedure=procedure, published=True).order_by("-version").first()
        if form is None:
            return None
        definition = form.parsed()
        result = validate_submission(definition, _signed_data(definition, item.data), today=today)
        if not result.ok:
            return None
        prefix = f"{era}-{procedure.department.short_name}"
        taken[prefix] += 1
        name, kana = _applicant_names(definition, result.cleaned, session.visitor)
        application = Application(
            municipality=procedure.municipality,
            procedure=procedure,
            department=procedure.department,
            form_version=form,
            channel=Channel.COUNTER,
            data=result.cleaned,
            applicant=session.visitor,
            applicant_name=name,
            applicant_kana=kana,
            submitted_at=now,
            reception_number=f"{prefix}-{last.get(prefix, 0) + taken[prefix]:06d}",
        )
        sheets.append(form_sheet(application=application, definitions=definitions))
    return sheets


# ------------------------------------------------------------------------------------------- renders
def _in_background(busy_key: str, work: Callable[[], None]) -> None:
    """Run ``work`` in a thread once the current transaction has committed, unless one is running."""

    def start() -> None:
        if not cache.add(busy_key, 1, timeout=int(WAIT * 3)):
            return  # already rendering

        def run() -> None:
            try:
                work()
            except Exception:  # the print request renders itself then
                logger.exception("counter.prerender_failed", extra={"key": busy_key})
            finally:
                cache.delete(busy_key)
                connection.close()

        threading.Thread(target=run, daemon=True, name="forms-pdf").start()

    transaction.on_commit(start)


def prerender_ahead(session_id: int, token: Any) -> None:
    """On hand-over to the resident: render the forms as signing would file them."""

    def work() -> None:
        from dataclasses import asdict

        from madoguchi.printing.render import sheets_digest, sheets_pdf

        sheets = expected_sheets(session_id)
        if sheets:
            pdf = sheets_pdf(sheets=sheets, title=TITLE)
            ahead = (sheets_digest(sheets), pdf, [asdict(sheet) for sheet in sheets])
            cache.set(_key(token, "ahead"), ahead, timeout=TTL)

    _in_background(_key(token, "ahead-busy"), work)


def prerender_after_commit(session_id: int, token: Any) -> None:
    """On the signature: the filed forms' PDF — the one rendered ahead if it shows exactly them."""

    def work() -> None:
        cache.set(_key(token), _filed_pdf(session_id, token), timeout=TTL)

    _in_background(_key(token, "busy"), work)


def _filed_pdf(session_id: int, token: Any) -> bytes:
    from madoguchi.printing.render import sheets_digest, sheets_pdf

    sheets = filed_sheets(session_id)
    ahead = _wait_for(_key(token, "ahead"), _key(token, "ahead-busy"))
    if ahead is not None and ahead[0] == sheets_digest(sheets):
        return bytes(ahead[1])
    if ahead is not None:  # why, by field name only (the values are personal data)
        logger.info(
            "counter.prerender_stale", extra={"session": session_id, "differs": _differs(ahead[2], sheets)}
        )
    return sheets_pdf(sheets=sheets, title=TITLE)


def _differs(before: list[dict[str, Any]], sheets: list[Any]) -> list[str]:
    from dataclasses import asdict

    after = [asdict(sheet) for sheet in sheets]
    if len(before) != len(after):
        return ["forms"]
    return sorted({key for b, a in zip(before, after, strict=True) for key in a if b.get(key) != a[key]})


def _wait_for(key: str, busy_key: str) -> Any:
    deadline = time.monotonic() + WAIT
    while True:
        value = cache.get(key)
        if value is not None or cache.get(busy_key) is None or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def forms_pdf_for(session_id: int, token: Any) -> bytes:
    """The session's PDF: from the background render if it is there or nearly there, else rendered now."""
    pdf = _wait_for(_key(token), _key(token, "busy"))
    if pdf is not None:
        return bytes(pdf)
    pdf = _filed_pdf(session_id, token)
    cache.set(_key(token), pdf, timeout=TTL)
    return pdf

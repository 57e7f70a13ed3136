"""Reads of applications, always scoped to what the actor may see."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from madoguchi.applications.models import Application, ApplicationEvent, Attachment, StatusCount
from madoguchi.applications.services import ASSIGN_ROLES, REVEAL_ROLES
from madoguchi.catalog.models import Procedure, StatusType, Transition
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.jp.business_days import add_business_days
from madoguchi.core.jp.normalize import search_key
from madoguchi.core.models import Department
from madoguchi.core.scope import Actor
from madoguchi.core.selectors import closed_days

PAGE_SIZE = 50


def application_scope(*, actor: Actor) -> QuerySet[Application]:
    """Every application the actor may see: their municipality, and their departments only."""
    if actor.municipality is None:
        raise PermissionDeniedError()
    if actor.sees_whole_municipality:
        return Application.objects.filter(municipality=actor.municipality)
    # department ids come only from the actor's assignments in this municipality (core.scope), so the
    # department alone scopes the rows and the inbox indexes can answer counts index-only
    return Application.objects.filter(department_id__in=actor.department_ids)


@dataclass
class InboxFilters:
    status: str = ""  # status code, "open" (default: not finished) or "all"
    procedure: int | None = None
    department: int | None = None
    channel: str = ""
    assignee: str = ""  # "me", "none", or a user id
    due: str = ""  # "overdue", "3" (due within 3 開庁日), "review" (要確認)
    q: str = ""
    page: int = 1

    @classmethod
    def from_querydict(cls, params: Any) -> InboxFilters:
        def as_int(name: str) -> int | None:
            value = params.get(name, "")
            return int(value) if str(value).isdigit() else None

        return cls(
            status=params.get("status", "open") or "open",
            procedure=as_int("procedure"),
            department=as_int("department"),
            channel=params.get("channel", ""),
            assignee=params.get("assignee", ""),
            due=params.get("due", ""),
            q=params.get("q", "").strip()[:60],
            page=max(as_int("page") or 1, 1),
        )


@dataclass
class InboxPage:
    rows: list[Application]
    total: int
    page: int
    pages: int
    status_counts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _statuses() -> list[StatusType]:
    """All status types (a few dozen rows): one small query instead of a join on every page."""
    return list(StatusType.objects.only("id", "code", "name", "order", "is_terminal"))


def _status_ids(statuses: list[StatusType], code: str) -> list[int]:
    return [s.pk for s in statuses if s.code == code]


def _filtered(
    actor: Actor, f: InboxFilters, statuses: list[StatusType], *, with_status: bool = True
) -> QuerySet[Application]:
    qs = application_scope(actor=actor)
    if f.department:
        qs = qs.filter(department_id=f.department)
    if f.procedure:
        qs = qs.filter(procedure_id=f.procedure)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.assignee == "me" and actor.user is not None:
        qs = qs.filter(assignee_id=actor.user.pk)
    elif f.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif f.assignee.isdigit():
        qs = qs.filter(assignee_id=int(f.assignee))
    if f.due:
        today = timezone.localdate()
        if f.due == "overdue":
            qs = qs.filter(is_open=True, deadline__lt=today)
        elif f.due == "review":
            qs = qs.filter(needs_review=True)
        elif f.due.isdigit() and actor.municipality is not None:
            limit: date = add_business_days(today, int(f.due), closed_days(actor.municipality))
            qs = qs.filter(is_open=True, deadline__gte=today, deadline__lte=limit)
    if f.q:
        qs = qs.filter(_search_condition(f.q))
    if with_status:
        if f.status == "open":
            qs = qs.filter(is_open=True)
        elif f.status and f.status != "all":
            ids = _status_ids(statuses, f.status)
            qs = qs.filter(status_id__in=ids)
            if any(not s.is_terminal for s in statuses if s.pk in ids):
                qs = qs.filter(is_open=True)  # lets the planner use the partial "open" index
    return qs


RECEPTION_NUMBER = re.compile(r"^[A-Z]\d{2}-.+-\d{1,6}$")
KATAKANA_KEY = re.compile(r"^[\u30a0-\u30ffー]+$")


def _search_condition(query: str) -> Q:
    """Only the conditions a query can meet, so each search walks as few index entries as possible.

    A 受付番号 is matched exactly; a katakana key may be a カナ reading or a name written in katakana
    (foreign residents); anything else (kanji, latin) can only be the start of a name.
    """
    text = unicodedata.normalize("NFKC", query).strip().upper()
    if RECEPTION_NUMBER.match(text):
        return Q(reception_number=text)
    key = search_key(query)
    if KATAKANA_KEY.match(key):
        return Q(name_key__startswith=key) | Q(kana_key__startswith=key)
    return Q(name_key__startswith=key)


def _counters_suffice(f: InboxFilters) -> bool:
    """The maintained counters cover department, procedure and status; other filters need a count."""
    return not (f.channel or f.assignee or f.due or f.q)


def _counts_by_status_id(actor: Actor, f: InboxFilters, statuses: list[StatusType]) -> dict[int, int]:
    """Counts per status under the filters (the status filter aside).

    Pages filtered by department, procedure and status only read the maintained StatusCount rows (constant work at any
    size); other filters count the matching applications.
    """
    if _counters_suffice(f):
        counters = StatusCount.objects.all()
        if actor.sees_whole_municipality:
            counters = counters.filter(department__municipality=actor.municipality)
        else:
            counters = counters.filter(department_id__in=actor.department_ids)
        if f.department:
            counters = counters.filter(department_id=f.department)
        if f.procedure:
            counters = counters.filter(procedure_id=f.procedure)
        kept = counters.values("status_id").annotate(total=Sum("n")).order_by()
        return {r["status_id"]: r["total"] for r in kept}
    rows = (
        _filtered(actor, f, statuses, with_status=False)
        .values("status_id")
        .annotate(total=Count("id"))
        .order_by()
    )
    return {r["status_id"]: r["total"] for r in rows}


def inbox_page(*, actor: Actor, filters: InboxFilters) -> InboxPage:
    """One inbox page: rows sorted by deadline, the total, and counts per status. Three queries."""
    statuses = _statuses()
    by_id = _counts_by_status_id(actor, filters, statuses)
    merged: dict[str, dict[str, Any]] = {}
    for s in sorted(statuses, key=lambda s: s.order):  # two workflows share status codes: merge them
        n = by_id.get(s.pk, 0)
        item = merged.setdefault(s.code, {"code": s.code, "name": s.name, "n": 0, "order": s.order})
        item["n"] += n
    if filters.status == "open":
        selected = {s.code for s in statuses if not s.is_terminal}
    elif filters.status in ("", "all"):
        selected = set(merged)
    else:
        selected = {filters.status}
    total = sum(item["n"] for code, item in merged.items() if code in selected)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(filters.page, pages)
    rows = list(
        _filtered(actor, filters, statuses)
        .select_related("procedure", "status", "assignee", "department")
        .only(
            "id",
            "reception_number",
            "applicant_name",
            "applicant_kana",
            "channel",
            "submitted_at",
            "deadline",
            "needs_review",
            "review_reason",
            "version",
            "procedure__name",
            "status__name",
            "status__code",
            "status__tone",
            "assignee__username",
            "assignee__last_name",
            "assignee__first_name",
            "department__name",
        )
        .order_by(F("deadline").asc(nulls_last=True), "id")[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    )
    counts = [item for item in merged.values() if item["n"]]
    return InboxPage(rows=rows, total=total, page=page, pages=pages, status_counts=counts)


def application_detail(*, actor: Actor, pk: int) -> Application:
    try:
        return (
            application_scope(actor=actor)
            .select_related(
                "procedure", "status", "assignee", "department", "form_version", "applicant", "municipality"
            )
            .get(pk=pk)
        )
    except Application.DoesNotExist:
        raise PermissionDeniedError(
            "申請が見つからないか、閲覧する権限がありません。", code="application.not_found"
        ) from None


def application_timeline(*, application: Application) -> list[ApplicationEvent]:
    return list(application.events.select_related("actor", "from_status", "to_status").order_by("at", "id"))


def application_attachments(*, application: Application) -> list[Attachment]:
    return list(application.attachments.select_related("blob"))


def application_actions(*, application: Application, actor: Actor) -> list[Transition]:
    """The transitions this actor may make now, in workflow order."""
    roles = actor.roles_for(application.department_id)
    candidates = Transition.objects.select_related("to_status").filter(
        workflow_id=application.status.workflow_id, from_status_id=application.status_id
    )
    return [t for t in candidates if t.allows(set(roles)) and t.to_status.code != "resubmitted"]


@dataclass
class InboxOptions:
    """The choices of the inbox filter form, limited to what the actor may see."""

    departments: list[Department]
    procedures: list[Procedure]
    statuses: list[tuple[str, str]]


def inbox_options(*, actor: Actor) -> InboxOptions:
    departments = Department.objects.filter(municipality=actor.municipality).order_by("code")
    if not actor.sees_whole_municipality:
        departments = departments.filter(id__in=actor.department_ids)
    procedures = Procedure.objects.filter(department__in=departments).only("id", "name").order_by("name")
    seen: dict[str, str] = {}
    for status in sorted(_statuses(), key=lambda s: s.order):
        seen.setdefault(status.code, status.name)
    return InboxOptions(
        departments=list(departments), procedures=list(procedures), statuses=list(seen.items())
    )


@dataclass(frozen=True)
class ApplicationPermissions:
    """What the actor may do on one application, for the page to show only those controls."""

    can_assign: bool
    can_reveal_mynumber: bool
    can_comment: bool


def application_permissions(*, application: Application, actor: Actor) -> ApplicationPermissions:
    roles = actor.roles_for(application.department_id)
    return ApplicationPermissions(
        can_assign=bool(roles & ASSIGN_ROLES),
        can_reveal_mynumber=bool(roles & REVEAL_ROLES),
        can_comment=bool(roles),
    )


EXPORT_COLUMNS = [
    "受付番号",
    "手続",
    "状態",
    "申請者氏名",
    "申請者カナ",
    "受付日",
    "処理期限",
    "受付経路",
    "担当課",
    "担当者",
    "要確認",
]


def inbox_export_rows(*, actor: Actor, filters: InboxFilters) -> Iterator[list[str]]:
    """Every application matching the inbox filters (not just one page), for a CSV export."""
    from madoguchi.applications.models import Channel
    from madoguchi.core.jp.wareki import to_wareki

    channels = dict(Channel.choices)
    qs = (
        _filtered(actor, filters, _statuses())
        .order_by(F("deadline").asc(nulls_last=True), "id")
        .values_list(
            "reception_number",
            "procedure__name",
            "status__name",
            "applicant_name",
            "applicant_kana",
            "submitted_at",
            "deadline",
            "channel",
            "department__name",
            "assignee__last_name",
            "assignee__first_name",
            "needs_review",
        )
    )
    for (
        number,
        proc,
        status,
        name,
        kana,
        submitted,
        deadline,
        channel,
        dept,
        last,
        first,
        review,
    ) in qs.iterator(chunk_size=2000):
        yield [
            number,
            proc,
            status,
            name,
            kana,
            to_wareki(timezone.localtime(submitted).date()),
            to_wareki(deadline) if deadline else "",
            str(channels.get(channel, channel)),
            dept,
            f"{last or ''} {first or ''}".strip(),
            "要確認" if review else "",
        ]

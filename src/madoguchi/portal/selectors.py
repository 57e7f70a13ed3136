"""Reads for the resident portal: finding a procedure, and a resident's own applications."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from madoguchi.applications.models import Application, ApplicationEvent, EventKind
from madoguchi.catalog.models import FormVersion, Procedure, StatusType
from madoguchi.core.jp.normalize import search_key
from madoguchi.core.models import Municipality
from madoguchi.identity.api import PortalIdentity
from madoguchi.portal.models import Draft


def portal_municipality() -> Municipality | None:
    """The municipality this portal serves: ``MADOGUCHI_PORTAL_MUNICIPALITY`` (団体コード), else the
    only (first) one."""
    code = os.environ.get("MADOGUCHI_PORTAL_MUNICIPALITY", "")
    qs = Municipality.objects.order_by("pk")
    if code:
        return qs.filter(code=code).first()
    return qs.first()


@dataclass(frozen=True)
class LifeEvent:
    slug: str
    label: Any
    codes: tuple[str, ...]
    icon: str


LIFE_EVENTS = [
    LifeEvent("pregnancy-birth", _("妊娠・出産"), ("pregnancy", "birth"), "👶"),
    LifeEvent("moving", _("引越し"), ("move_in", "move_out"), "🏠"),
    LifeEvent("care", _("介護が必要になった"), ("care",), "🤝"),
    LifeEvent("disaster", _("災害にあった"), ("disaster",), "⛑"),
    LifeEvent("marriage", _("結婚・名前や住所が変わった"), ("marriage",), "💍"),
    LifeEvent("death", _("家族が亡くなった"), ("death",), "🕊"),
]
LIFE_EVENTS_BY_SLUG = {e.slug: e for e in LIFE_EVENTS}

# everyday words → words found in procedure names (searched as well as the typed word)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ひっこし": ("転出", "転入", "転居"),
    "引っ越し": ("転出", "転入", "転居"),
    "引越し": ("転出", "転入", "転居"),
    "引越": ("転出", "転入", "転居"),
    "こども": ("児童", "子ども", "保育"),
    "子供": ("児童", "子ども", "保育"),
    "赤ちゃん": ("出生", "妊娠", "児童手当"),
    "出産": ("出生", "妊娠", "児童手当"),
    "保育園": ("保育",),
    "ほいくえん": ("保育",),
    "介護": ("介護", "要介護"),
    "かいご": ("介護", "要介護"),
    "台風": ("罹災",),
    "地震": ("罹災",),
    "火事": ("罹災",),
    "火災": ("罹災",),
    "大雨": ("罹災",),
    "水害": ("罹災",),
    "住民票": ("住民票",),
}


def _haystack(procedure: Procedure) -> list[tuple[int, str]]:
    """Folded texts to search, each with a weight: the name counts most, then keywords, then the rest."""
    portal = procedure.portal or {}
    texts: list[tuple[int, str]] = [(4, procedure.name)]
    texts += [(3, str(k)) for k in portal.get("keywords", [])]
    texts += [(3, str((portal.get(v) or {}).get("name", ""))) for v in ("easy", "en")]
    texts += [(1, procedure.category), (1, procedure.department.name), (1, str(portal.get("summary", "")))]
    return [(w, search_key(t)) for w, t in texts if t]


def _term_keys(term: str) -> tuple[str, list[str]]:
    """The folded term, and the folded procedure words an everyday term stands for."""
    key = search_key(term)
    extra = [search_key(s) for k, v in SYNONYMS.items() if search_key(k) == key for s in v]
    return key, extra


def procedures_active(municipality: Municipality) -> QuerySet[Procedure]:
    """Procedures residents can do online (``portal.online`` false: counter only, e.g. 転入届)."""
    return (
        Procedure.objects.filter(municipality=municipality, is_active=True)
        .exclude(Q(portal__has_key="online") & Q(portal__online=False))
        .select_related("department")
        .order_by("category", "name")
    )


def procedure_search(*, municipality: Municipality, query: str) -> list[Procedure]:
    """Procedures matching every word of ``query`` (かな/カナ, 全角/半角, 異体字 folded; everyday
    words such as 「引っ越し」 also match the procedures' own words), best matches first: a word in
    the name or keywords counts more than one found only through a synonym or in the description."""
    terms = [t for t in query.replace("　", " ").split() if t][:8]
    if not terms:
        return []
    scored: list[tuple[int, int, Procedure]] = []
    for index, p in enumerate(procedures_active(municipality)):
        hay = _haystack(p)
        total = 0
        for term in terms:
            key, extra = _term_keys(term)
            direct = max((w for w, h in hay if key and key in h), default=0)
            via = sum(max((w for w, h in hay if k in h), default=0) for k in set(extra) if k)
            best = direct * 2 + via
            if not best:
                break
            total += best
        else:
            scored.append((-total, index, p))
    return [p for _, _, p in sorted(scored, key=lambda t: (t[0], t[1]))]


def procedures_for_event(*, municipality: Municipality, event: LifeEvent) -> list[Procedure]:
    return [p for p in procedures_active(municipality) if set(p.life_events) & set(event.codes)]


def procedures_by_category(*, municipality: Municipality) -> list[tuple[str, list[Procedure]]]:
    groups: dict[str, list[Procedure]] = {}
    for p in procedures_active(municipality):
        groups.setdefault(p.category or "その他", []).append(p)
    return sorted(groups.items())


def my_applications(*, identity: PortalIdentity) -> QuerySet[Application]:
    """The applications this resident made (identified by card) or submitted from this account."""
    from madoguchi.portal.services import owner_key

    cond = Q(portal_link__owner=owner_key(identity))
    if identity.resident_id:
        cond |= Q(applicant_id=identity.resident_id, municipality_id=identity.municipality_id)
    return (
        Application.objects.filter(cond)
        .select_related("procedure", "status", "municipality", "department")
        .order_by("-submitted_at")
        .distinct()
    )


def my_application(*, identity: PortalIdentity, pk: int) -> Application | None:
    return my_applications(identity=identity).filter(pk=pk).first()


def my_drafts(*, identity: PortalIdentity) -> QuerySet[Draft]:
    from madoguchi.portal.services import owner_key

    return Draft.objects.filter(owner=owner_key(identity), application__isnull=True).select_related("procedure")


def my_draft(*, identity: PortalIdentity, token: str, to_submit: bool = False) -> Draft | None:
    """The resident's own draft with what its pages use. The form's definition is not read (the parsed
    form is cached per process, ``FormVersion.parsed``). ``to_submit`` also reads, in the same query, the
    procedure's current published form (``current_form_id``; ``draft_submit`` refuses a revised form) and
    its workflow's initial status (``initial_status_id``, for the new application)."""
    from madoguchi.portal.services import owner_key

    related = ["procedure", "procedure__department", "procedure__municipality", "form_version"]
    qs = (
        Draft.objects.select_related(*related, *([] if to_submit else ["municipality"]))
        .defer("form_version__definition")
        .filter(owner=owner_key(identity), token=token)
        .order_by()  # the token is unique
    )
    if to_submit:
        current = FormVersion.objects.filter(procedure_id=OuterRef("procedure_id"), published=True).order_by("-version")
        initial = StatusType.objects.filter(workflow_id=OuterRef("procedure__workflow_id"), is_initial=True)
        qs = qs.annotate(
            current_form_id=Subquery(current.values("pk")[:1]), initial_status_id=Subquery(initial.values("pk")[:1])
        )
    try:
        found = list(qs[:1])
    except (ValueError, TypeError):
        return None
    return found[0] if found else None


# What the applicant sees of the history: never internal notes or who the case worker is.
RESIDENT_EVENT_KINDS = {
    EventKind.SUBMITTED, EventKind.TRANSITION, EventKind.CORRECTION_REQUESTED, EventKind.RESUBMITTED,
    EventKind.WITHDRAWN,
}


def resident_timeline(application: Application) -> list[ApplicationEvent]:
    return list(
        application.events.filter(kind__in=RESIDENT_EVENT_KINDS)
        .select_related("to_status")
        .order_by("at", "pk")
    )

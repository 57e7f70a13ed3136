"""Writes to applications. Keyword-only, typed; one transaction per state change, with its history
row and audit row written in that same transaction (STYLE.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from madoguchi.applications.models import (
    Application,
    ApplicationEvent,
    Attachment,
    Blob,
    Channel,
    EventKind,
    NumberSequence,
    StatusCount,
)
from madoguchi.catalog.models import FormVersion, Procedure, StatusType, Transition
from madoguchi.catalog.schema import iter_files, parse_definition, validate_submission
from madoguchi.catalog.workflows import DEDICATED
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import (
    ConcurrentUpdate,
    MadoguchiError,
    PermissionDeniedError,
    TransitionNotAllowed,
    ValidationFailed,
)
from madoguchi.core.jp.business_days import add_business_days, business_days_between
from madoguchi.core.jp.normalize import search_key
from madoguchi.core.jp.wareki import era_year_code
from madoguchi.core.models import Resident
from madoguchi.core.scope import Actor
from madoguchi.core.selectors import closed_days

# Who may assign a case worker, and who may reveal a 個人番号 (always audited).
ASSIGN_ROLES = frozenset({"handler", "approver", "admin"})
REVEAL_ROLES = frozenset({"handler", "approver", "admin", "clerk"})


# ---------------------------------------------------------------- helpers
def fiscal_year_start(d: date) -> date:
    return date(d.year if d.month >= 4 else d.year - 1, 4, 1)


def _next_reception_number(*, procedure: Procedure, at: datetime) -> str:
    """受付番号 like ``R07-子育-000123``: 年度 (era), department, a per-municipality counter."""
    local = timezone.localtime(at).date()
    prefix = f"{era_year_code(fiscal_year_start(local))}-{procedure.department.short_name}"
    # one round trip once the counter exists (the UPDATE locks the row until commit, as FOR UPDATE did)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                'UPDATE "applications_numbersequence" SET "last" = "last" + 1'
                ' WHERE "municipality_id" = %s AND "prefix" = %s RETURNING "last"',
                [procedure.municipality_id, prefix],
            )
            row = cursor.fetchone()
        if row is not None:
            return f"{prefix}-{row[0]:06d}"
    seq, _ = NumberSequence.objects.select_for_update().get_or_create(
        municipality=procedure.municipality, prefix=prefix
    )
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{prefix}-{seq.last:06d}"


def _applicant_names(
    definition: Any, cleaned: Mapping[str, Any], applicant: Resident | None
) -> tuple[str, str]:
    name = kana = ""
    for section in definition.sections:
        for f in section.fields:
            if f.prefill == "resident.name" and not name:
                name = str(cleaned.get(f.id, ""))
            elif f.prefill == "resident.name_kana" and not kana:
                kana = str(cleaned.get(f.id, ""))
    if applicant is not None:
        name, kana = name or applicant.name, kana or applicant.name_kana
    return name[:60], kana[:120]


def _event(
    application: Application,
    *,
    kind: str,
    actor: Actor,
    at: datetime,
    reason: str = "",
    from_status: StatusType | None = None,
    to_status: StatusType | None = None,
    to_status_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> ApplicationEvent:
    user_id = actor.user.pk if actor.user is not None else None
    to: dict[str, Any] = {"to_status": to_status} if to_status is not None else {"to_status_id": to_status_id}
    return ApplicationEvent.objects.create(
        application=application,
        kind=kind,
        at=at,
        actor_id=user_id,
        actor_label=actor.label,
        from_status=from_status,
        **to,
        reason=reason,
        detail=detail or {},
    )


def _audit(
    application: Application, *, actor: Actor, action: str, detail: dict[str, Any] | None = None
) -> None:
    audit_record(
        actor=actor.label,
        action=action,
        municipality_code=application.municipality.code,
        object_type="application",
        object_id=application.reception_number,
        detail=detail or {},
    )


def _count(application: Application, status_id: int, delta: int) -> None:
    """Move one inbox counter (insert-if-missing is conflict-safe on both databases)."""
    if connection.vendor == "postgresql":  # one round trip: upsert on status_count_unique
        with connection.cursor() as cursor:
            cursor.execute(
                'INSERT INTO "applications_statuscount" ("department_id", "procedure_id", "status_id", "n")'
                ' VALUES (%s, %s, %s, %s) ON CONFLICT ("department_id", "procedure_id", "status_id")'
                ' DO UPDATE SET "n" = "applications_statuscount"."n" + %s',
                [application.department_id, application.procedure_id, status_id, delta, delta],
            )
        return
    key = {"department_id": application.department_id, "procedure_id": application.procedure_id}
    StatusCount.objects.bulk_create([StatusCount(**key, status_id=status_id, n=0)], ignore_conflicts=True)
    StatusCount.objects.filter(**key, status_id=status_id).update(n=F("n") + delta)


def status_counts_rebuild() -> int:
    """Recompute every StatusCount from the applications (after a bulk load or to repair drift)."""
    with transaction.atomic():
        StatusCount.objects.all().delete()
        keys = ("department_id", "procedure_id", "status_id")
        rows = Application.objects.values(*keys).annotate(n=Count("id")).order_by()
        StatusCount.objects.bulk_create(StatusCount(**{k: r[k] for k in keys}, n=r["n"]) for r in rows)
        Application.objects.filter(status__is_terminal=True, is_open=True).update(is_open=False)
        Application.objects.filter(status__is_terminal=False, is_open=False).update(is_open=True)
    return StatusCount.objects.count()


def _lock(application: Application, expected_version: int | None) -> Application:
    """Lock the row; refuse if someone changed it since the caller loaded it (optimistic lock)."""
    # Lock without joins: PostgreSQL re-checks a joined row after waiting for a lock, and a changed
    # status_id would make the row vanish from the result. Load the relations after locking.
    Application.objects.select_for_update().filter(pk=application.pk).values_list("pk").get()
    current = Application.objects.select_related("status", "procedure", "municipality", "department").get(
        pk=application.pk
    )
    if expected_version is not None and current.version != expected_version:
        raise ConcurrentUpdate()
    return current


def _require_staff_scope(application: Application, actor: Actor) -> frozenset[str]:
    if actor.is_system:
        return frozenset()
    if (
        not actor.is_staff
        or actor.municipality is None
        or actor.municipality.pk != application.municipality_id
    ):
        raise PermissionDeniedError()
    if not actor.can_see_department(application.department_id):
        raise PermissionDeniedError(
            "この申請の担当課ではないため操作できません。", code="permission.department"
        )
    return actor.roles_for(application.department_id)


def _find_transition(application: Application, to: str) -> Transition:
    transition = (
        Transition.objects.select_related("to_status", "from_status")
        .filter(
            workflow_id=application.status.workflow_id, from_status=application.status, to_status__code=to
        )
        .first()
    )
    if transition is None:
        raise TransitionNotAllowed(
            f"「{application.status.name}」の申請を「{_status_name(application, to)}」にすることはできません。"
        )
    return transition


def _status_name(application: Application, code: str) -> str:
    status = StatusType.objects.filter(workflow_id=application.status.workflow_id, code=code).first()
    return status.name if status else code


def _apply(
    application: Application,
    *,
    transition: Transition,
    actor: Actor,
    reason: str,
    at: datetime,
    kind: str = EventKind.TRANSITION,
    detail: dict[str, Any] | None = None,
    extra_fields: Iterable[str] = (),
    roles_checked: bool = False,
) -> Application:
    """Write one transition: the row, its history event and its audit row (caller holds the lock)."""
    roles = _require_staff_scope(application, actor)
    if actor.is_staff and not roles_checked and not transition.allows(set(roles)):
        raise PermissionDeniedError(f"「{transition.label}」を行う権限がありません。", code="permission.role")
    if actor.is_resident:  # residents act through system transitions only (再提出, 取下げ)
        raise PermissionDeniedError()
    if transition.reason_required and not reason.strip():
        raise ValidationFailed(
            f"「{transition.label}」には理由の入力が必要です。", code="workflow.reason_required"
        )
    previous = application.status
    application.status = transition.to_status
    application.is_open = not transition.to_status.is_terminal
    if transition.to_status.code == "pending_approval":  # every round of 決裁 starts at step 1
        application.approval_step = 0
        extra_fields = [*extra_fields, "approval_step"]
    application.version += 1
    application.save(update_fields=["status", "is_open", "version", "updated_at", *extra_fields])
    # counters are locked in status-id order, so two opposite transitions can never deadlock
    for status_id, delta in sorted([(previous.pk, -1), (transition.to_status.pk, +1)]):
        _count(application, status_id, delta)
    _event(
        application,
        kind=kind,
        actor=actor,
        at=at,
        reason=reason,
        from_status=previous,
        to_status=transition.to_status,
        detail=detail,
    )
    _audit(
        application,
        actor=actor,
        action=f"application.{kind}",
        detail={"from": previous.code, "to": transition.to_status.code, **(detail or {})},
    )
    return application


# ---------------------------------------------------------------- services
@dataclass(frozen=True)
class SubmitContext:
    """What ``application_submit`` would look up for a procedure: its current (published) form and
    that form's parsed definition. A caller that has just read which form is current (the bulk
    importer, in the same query as the procedure) may pass them in."""

    procedure_id: int
    form: FormVersion
    definition: Any
    # the pk of the workflow's initial status, when the caller read it with the procedure (the portal's
    # submit reads it in the same query as the draft); the new application's ``status`` is then loaded
    # only if used
    initial_status_id: int | None = None


def application_submit(
    *,
    procedure: Procedure,
    data: Mapping[str, Any],
    channel: str,
    actor: Actor,
    applicant: Resident | None = None,
    idempotency_key: str | None = None,
    submitted_at: datetime | None = None,
    needs_review: str = "",
    context: SubmitContext | None = None,
    idempotency_checked: bool = False,
) -> Application:
    """Validate and store a new application from any channel.

    Invalid data raises ``ValidationFailed`` whose ``details`` is the list of field errors. With an
    ``idempotency_key`` a repeated submission returns the first application and creates nothing.
    ``context`` (the current form, read by the caller) saves those look-ups; ``idempotency_checked``
    says the caller already looked the key up inside its own transaction (a concurrent duplicate is
    still caught by the unique constraint and returned).
    """
    if context is not None and context.procedure_id != procedure.pk:
        raise ValueError("submit context is for another procedure")
    if channel not in Channel.values:
        raise ValidationFailed(f"受付経路 {channel!r} は不明です。", code="application.channel_unknown")
    if not procedure.is_active:
        raise ValidationFailed(f"「{procedure.name}」は現在受け付けていません。", code="procedure.inactive")
    if idempotency_key and not idempotency_checked:
        existing = Application.objects.filter(
            municipality_id=procedure.municipality_id, idempotency_key=idempotency_key
        ).first()
        if existing:
            return existing
    form = context.form if context is not None else procedure.current_form
    definition = context.definition if context is not None else parse_definition(form.definition)
    at = submitted_at or timezone.now()
    result = validate_submission(definition, data, today=timezone.localtime(at).date())
    if not result.ok:
        raise ValidationFailed(
            "入力内容に誤りがあります。各項目のメッセージを確認してください。",
            code="form.invalid",
            details=result.errors,
        )
    refs = list(iter_files(definition, result.cleaned))
    known = set(
        Blob.objects.filter(sha256__in=[r["sha256"] for _, r in refs]).values_list("sha256", flat=True)
    )
    missing = [r["filename"] for _, r in refs if r["sha256"] not in known]
    if missing:
        raise ValidationFailed(
            f"添付ファイルが保存されていません: {'、'.join(missing)}", code="attachment.missing"
        )
    name, kana = _applicant_names(definition, result.cleaned, applicant)
    initial: StatusType | None = None
    if context is not None and context.initial_status_id is not None:
        initial_id = context.initial_status_id
    else:
        initial = StatusType.objects.get(workflow_id=procedure.workflow_id, is_initial=True)
        initial_id = initial.pk
    status: dict[str, Any] = {"status": initial} if initial is not None else {"status_id": initial_id}
    deadline = None
    if procedure.standard_days:
        deadline = add_business_days(
            timezone.localtime(at).date(), procedure.standard_days, closed_days(procedure.municipality)
        )
    try:
        with transaction.atomic():
            application = Application.objects.create(
                municipality=procedure.municipality,
                reception_number=_next_reception_number(procedure=procedure, at=at),
                procedure=procedure,
                form_version=form,
                department=procedure.department,
                channel=channel,
                data=result.cleaned,
                applicant=applicant,
                applicant_name=name,
                applicant_kana=kana,
                name_key=search_key(name),
                kana_key=search_key(kana),
                **status,
                submitted_at=at,
                deadline=deadline,
                idempotency_key=idempotency_key or None,
                needs_review=bool(needs_review),
                review_reason=needs_review[:200],
            )
            _count(application, initial_id, +1)
            Attachment.objects.bulk_create(
                Attachment(
                    application=application, blob_id=r["sha256"], field_path=path, filename=r["filename"]
                )
                for path, r in refs
            )
            _event(
                application,
                kind=EventKind.SUBMITTED,
                actor=actor,
                at=at,
                to_status=initial,
                to_status_id=initial_id,
                detail={"channel": channel, "form_version": form.version},
            )
            _audit(
                application,
                actor=actor,
                action="application.submit",
                detail={"procedure": procedure.code, "channel": channel},
            )
    except IntegrityError:
        if idempotency_key:  # a concurrent duplicate won the race: return it
            return Application.objects.get(
                municipality_id=procedure.municipality_id, idempotency_key=idempotency_key
            )
        raise
    return application


@transaction.atomic
def application_transition(
    *, application: Application, to: str, actor: Actor, reason: str = "", expected_version: int | None = None
) -> Application:
    """Move an application along an allowed transition of its workflow."""
    if to in DEDICATED:
        raise TransitionNotAllowed(
            "この操作は専用の画面から行ってください。", code="workflow.use_dedicated_action"
        )
    application = _lock(application, expected_version)
    transition = _find_transition(application, to)
    return _apply(application, transition=transition, actor=actor, reason=reason, at=timezone.now())


@transaction.atomic
def application_request_correction(
    *,
    application: Application,
    actor: Actor,
    fields: list[str],
    reason: str,
    expected_version: int | None = None,
) -> Application:
    """補正依頼: tell the applicant which fields to fix, and why. The 標準処理期間 clock stops."""
    application = _lock(application, expected_version)
    definition = parse_definition(application.form_version.definition)
    known = {f.id for s in definition.sections for f in s.fields}
    unknown = [f for f in fields if f not in known]
    if not fields or unknown:
        raise ValidationFailed(
            "補正を求める項目を1つ以上、様式の中から選んでください。", code="correction.fields_required"
        )
    transition = _find_transition(application, "correction_requested")
    now = timezone.now()
    application.correction_fields = fields
    application.correction_requested_at = now
    return _apply(
        application,
        transition=transition,
        actor=actor,
        reason=reason,
        at=now,
        kind=EventKind.CORRECTION_REQUESTED,
        detail={"fields": fields},
        extra_fields=["correction_fields", "correction_requested_at"],
    )


@transaction.atomic
def application_resubmit(
    *, application: Application, data: Mapping[str, Any], actor: Actor, expected_version: int | None = None
) -> Application:
    """再提出 after a 補正依頼: validated again against the application's own form version.

    The deadline moves on by the 開庁日 the application spent waiting for the applicant.
    """
    application = _lock(application, expected_version)
    transition = _find_transition(application, "resubmitted")
    definition = parse_definition(application.form_version.definition)
    now = timezone.now()
    data = _carry_secrets(definition, application.data, data)
    result = validate_submission(definition, data, today=timezone.localtime(now).date())
    if not result.ok:
        raise ValidationFailed("入力内容に誤りがあります。", code="form.invalid", details=result.errors)
    if application.deadline and application.correction_requested_at:
        waited = business_days_between(
            timezone.localtime(application.correction_requested_at).date(),
            timezone.localtime(now).date(),
            closed_days(application.municipality),
        )
        application.deadline = add_business_days(
            application.deadline, max(waited, 0), closed_days(application.municipality)
        )
    changed = sorted(
        k
        for k in set(result.cleaned) | set(application.data)
        if _comparable(result.cleaned.get(k)) != _comparable(application.data.get(k))
    )
    application.data = result.cleaned
    application.correction_fields = []
    return _apply(
        application,
        transition=transition,
        actor=Actor.system(actor.label),
        reason="",
        at=now,
        kind=EventKind.RESUBMITTED,
        detail={"changed": changed},
        extra_fields=["data", "deadline", "correction_fields"],
    )


def _carry_secrets(definition: Any, stored: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A 個人番号 the applicant did not re-enter keeps its stored value (the portal never shows it).

    Walks repeating groups item by item, so a child's or guardian's number survives a 再提出 too.
    """
    from madoguchi.core.crypto import decrypt

    def carry(fields: Any, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
        merged = dict(new)
        for f in fields:
            before = old.get(f.id)
            if f.type == "mynumber" and f.id not in merged and isinstance(before, dict) and "$enc" in before:
                merged[f.id] = decrypt(before["$enc"])
            elif f.type == "group" and isinstance(before, list) and isinstance(merged.get(f.id), list):
                merged[f.id] = [
                    carry(f.fields, before[i], item)
                    if i < len(before) and isinstance(item, Mapping)
                    else item
                    for i, item in enumerate(merged[f.id])
                ]
        return merged

    return carry([f for _, f in definition.top_level_fields()], stored, data)


def _comparable(value: Any) -> Any:
    """Stored values with each encrypted 個人番号 replaced by its mask (tokens differ on every encryption)."""
    if isinstance(value, dict):
        if "$enc" in value:
            return value.get("masked")
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


@transaction.atomic
def application_withdraw(
    *, application: Application, actor: Actor, reason: str, expected_version: int | None = None
) -> Application:
    """取下げ by the applicant (portal) or recorded by staff on the applicant's request."""
    application = _lock(application, expected_version)
    transition = _find_transition(application, "withdrawn")
    effective = Actor.system(actor.label) if actor.is_resident else actor
    return _apply(
        application,
        transition=transition,
        actor=effective,
        # the applicant's own withdrawal needs no reason; staff recording one must give it
        reason=reason or ("申請者による取下げ" if actor.is_resident else ""),
        at=timezone.now(),
        kind=EventKind.WITHDRAWN,
    )


@transaction.atomic
def application_approve(
    *, application: Application, actor: Actor, comment: str = "", expected_version: int | None = None
) -> Application:
    """決裁: the actor signs the next step of the procedure's approval chain.

    When the last step is signed the application becomes 承認. Nobody may sign twice, and the
    person who sent the application for approval may not sign it (separation of duties).
    """
    application = _lock(application, expected_version)
    transition = _find_transition(application, "approved")
    roles = _require_staff_scope(application, actor)
    chain: list[str] = list(application.procedure.approval_chain) or ["approver"]
    step = application.approval_step
    needed = chain[min(step, len(chain) - 1)]
    if needed not in roles:
        raise PermissionDeniedError(
            f"この決裁には「{_role_label(needed)}」の役割が必要です。", code="permission.role"
        )
    round_start = application.events.filter(to_status__code="pending_approval").order_by("-at", "-id").first()
    signers = (
        set(
            application.events.filter(
                kind=EventKind.APPROVAL, at__gte=round_start.at if round_start else None
            ).values_list("actor_id", flat=True)
        )
        if round_start
        else set()
    )
    if round_start and round_start.actor_id:
        signers.add(round_start.actor_id)
    if actor.user is not None and actor.user.pk in signers:
        raise PermissionDeniedError(
            "決裁に回した職員や既に押印した職員は、同じ申請を決裁できません。", code="approval.same_person"
        )
    now = timezone.now()
    application.approval_step = step + 1
    if application.approval_step < len(chain):
        application.version += 1
        application.save(update_fields=["approval_step", "version", "updated_at"])
        _event(
            application,
            kind=EventKind.APPROVAL,
            actor=actor,
            at=now,
            reason=comment,
            detail={"step": step + 1, "of": len(chain), "role": needed},
        )
        _audit(application, actor=actor, action="application.approval_sign", detail={"step": step + 1})
        return application
    _event(
        application,
        kind=EventKind.APPROVAL,
        actor=actor,
        at=now,
        reason=comment,
        detail={"step": step + 1, "of": len(chain), "role": needed},
    )
    application.approval_step = 0
    return _apply(
        application,
        transition=transition,
        actor=actor,
        reason=comment,
        at=now,
        extra_fields=["approval_step"],
        roles_checked=True,
    )


def application_act(
    *, application: Application, to: str, actor: Actor, reason: str = "", expected_version: int | None = None
) -> Application:
    """One staff action button: the generic transition, or the dedicated service its target needs."""
    if to == "approved":
        return application_approve(
            application=application, actor=actor, comment=reason, expected_version=expected_version
        )
    if to == "withdrawn":
        return application_withdraw(
            application=application, actor=actor, reason=reason, expected_version=expected_version
        )
    return application_transition(
        application=application, to=to, actor=actor, reason=reason, expected_version=expected_version
    )


@transaction.atomic
def application_assign(
    *, application: Application, assignee: Any, actor: Actor, expected_version: int | None = None
) -> Application:
    application = _lock(application, expected_version)
    roles = _require_staff_scope(application, actor)
    if not roles & ASSIGN_ROLES:
        raise PermissionDeniedError("担当者を設定する権限がありません。", code="permission.role")
    application.assignee = assignee
    application.version += 1
    application.save(update_fields=["assignee", "version", "updated_at"])
    label = assignee.get_username() if assignee else ""
    _event(application, kind=EventKind.ASSIGNED, actor=actor, at=timezone.now(), detail={"assignee": label})
    _audit(application, actor=actor, action="application.assign", detail={"assignee": label})
    return application


@transaction.atomic
def application_comment(*, application: Application, actor: Actor, body: str) -> ApplicationEvent:
    """An internal note on the timeline (not shown to the applicant)."""
    _require_staff_scope(application, actor)
    body = body.strip()
    if not body:
        raise ValidationFailed("メモを入力してください。", code="comment.empty")
    if len(body) > 2000:
        raise ValidationFailed("メモは2000文字以内で入力してください。", code="comment.too_long")
    event = _event(application, kind=EventKind.COMMENT, actor=actor, at=timezone.now(), reason=body)
    _audit(application, actor=actor, action="application.comment")
    return event


@transaction.atomic
def application_reveal_mynumber(*, application: Application, actor: Actor, path: str) -> str:
    """Decrypt one 個人番号 for a staff member, writing the audit row first. Never logged."""
    from madoguchi.core.crypto import decrypt

    roles = _require_staff_scope(application, actor)
    if not roles & REVEAL_ROLES:
        raise PermissionDeniedError()
    value: Any = application.data
    try:
        for part in path.replace("]", "").replace("[", ".").split("."):
            if part == "":
                continue
            value = value[int(part)] if isinstance(value, list) else (value or {}).get(part)
    except (ValueError, IndexError, AttributeError, TypeError):
        value = None
    if not isinstance(value, dict) or "$enc" not in value:
        raise MadoguchiError("この項目に個人番号はありません。", code="mynumber.not_found")
    if not actor.is_staff:
        raise PermissionDeniedError()
    _audit(application, actor=actor, action="mynumber.view", detail={"field": path})
    return decrypt(value["$enc"])


def _role_label(code: str) -> str:
    from madoguchi.core.models import Role

    return str(dict(Role.choices).get(code, code))


@transaction.atomic
def application_export_record(*, actor: Actor, filters: dict[str, Any], encoding: str) -> None:
    """Audit a bulk export of applicant names before it streams (personal data leaving the screen).

    A search text may be a resident's name: the permanent audit chain keeps only its keyed hash.
    """
    from madoguchi.core.crypto import blind_index

    if actor.municipality is None:
        raise PermissionDeniedError()
    filters = dict(filters)
    if filters.get("q"):
        filters["q"] = "hmac:" + blind_index(str(filters["q"]))[:16]
    audit_record(
        actor=actor.label,
        action="application.export_csv",
        municipality_code=actor.municipality.code,
        object_type="inbox",
        detail={"filters": filters, "encoding": encoding},
    )

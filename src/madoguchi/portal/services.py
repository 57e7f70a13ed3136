"""Writes for the resident portal. Keyword-only, typed; an application is created, corrected or
withdrawn only through ``applications.services`` (one transaction, history and audit rows with it)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from madoguchi.applications import services as app_services
from madoguchi.applications.models import Application, Channel
from madoguchi.applications.services import SubmitContext
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.catalog.schema import prefill_initial, strip_secrets, validate_submission
from madoguchi.core.audit import audit_record
from madoguchi.core.cache import window_hits
from madoguchi.core.errors import MadoguchiError, PermissionDeniedError, ValidationFailed
from madoguchi.core.models import Resident
from madoguchi.core.templatetags.jp import wareki_datetime
from madoguchi.identity.api import PortalIdentity
from madoguchi.portal.forms import seal, unseal
from madoguchi.portal.models import Draft, PortalApplication

logger = logging.getLogger(__name__)

# Submissions per resident (and per client address) in a window; operators tune them by environment
# (MADOGUCHI_PORTAL_SUBMIT_LIMIT / _IP_LIMIT / _WINDOW), e.g. for a load test from one address.
SUBMIT_LIMIT = int(os.environ.get("MADOGUCHI_PORTAL_SUBMIT_LIMIT", "10"))
SUBMIT_IP_LIMIT = int(os.environ.get("MADOGUCHI_PORTAL_SUBMIT_IP_LIMIT", "200"))
SUBMIT_WINDOW = int(os.environ.get("MADOGUCHI_PORTAL_SUBMIT_WINDOW", "600"))


_NOT_READ = object()


class RateLimited(MadoguchiError):
    code = "portal.rate_limited"
    default_message = "短い時間に続けて送信されました。10分ほど待ってから、もう一度お試しください。"


def owner_key(identity: PortalIdentity) -> str:
    """Stable across sessions: the resident when known (card), else the account."""
    if identity.resident_id:
        return f"resident:{identity.resident_id}"
    if identity.account_id:
        return f"account:{identity.account_id}"
    return identity.label[:80]


def draft_start(*, procedure: Procedure, identity: PortalIdentity) -> Draft:
    """A new draft, prefilled from the 基本4情報 the resident proved (or registered)."""
    if not procedure.is_active:
        raise ValidationFailed(f"「{procedure.name}」は現在受け付けていません。", code="procedure.inactive")
    if procedure.identity_level == "card" and not identity.has_card:
        raise PermissionDeniedError(
            "この手続にはマイナンバーカードでのログインが必要です。", code="portal.card_required"
        )
    form = procedure.current_form
    definition = form.parsed()
    initial = prefill_initial(definition, identity.prefill())
    return Draft.objects.create(
        municipality=procedure.municipality,
        procedure=procedure,
        form_version=form,
        owner=owner_key(identity),
        data=initial,
    )


def draft_save(*, draft: Draft, data: Mapping[str, Any], step: int) -> Draft:
    """Keep the resident's input (個人番号 sealed). Submitted drafts are frozen."""
    if draft.submitted:
        raise ValidationFailed("この申請はすでに送信されています。", code="portal.already_submitted")
    definition = draft.form_version.parsed()
    draft.data = seal(definition, data)
    draft.step = max(0, step)
    draft.save(update_fields=["data", "step", "updated_at"])
    return draft


def draft_delete(*, draft: Draft) -> None:
    if not draft.submitted:
        draft.delete()


def _rate_limit(identity: PortalIdentity, ip: str) -> None:
    """Fixed windows per resident and per client address, both counted in one Redis round trip."""
    mine, address = window_hits(
        [f"portal-submit:{owner_key(identity)}", f"portal-submit-ip:{ip}"], window=SUBMIT_WINDOW
    )
    if mine > SUBMIT_LIMIT or address > SUBMIT_IP_LIMIT:
        raise RateLimited()


def draft_validate(*, draft: Draft) -> Any:
    definition = draft.form_version.parsed()
    return validate_submission(definition, unseal(definition, draft.data), today=timezone.localdate())


def _resident(identity: PortalIdentity) -> Resident | None:
    if not identity.resident_id or not identity.municipality_id:
        return None
    return Resident.objects.filter(pk=identity.resident_id, municipality_id=identity.municipality_id).first()


def _contact_email(identity: PortalIdentity, data: Mapping[str, Any]) -> str:
    for key, value in data.items():
        if key.endswith("email") and isinstance(value, str) and "@" in value:
            return value.strip()
    return identity.email


def draft_submit(*, draft: Draft, identity: PortalIdentity, ip: str = "") -> Application:
    """Submit a draft that needs no card signature. A repeated click returns the same application."""
    if draft.application_id:
        return draft.application  # type: ignore[return-value]
    if draft.procedure.identity_level == "card":
        raise PermissionDeniedError("この手続はマイナンバーカードで署名して送信します。", code="portal.card_required")
    _rate_limit(identity, ip)
    form = draft.form_version
    definition = form.parsed()
    current = getattr(draft, "current_form_id", _NOT_READ)  # read with the draft by my_draft(to_submit=True)
    if current is _NOT_READ:
        current = (
            FormVersion.objects.filter(procedure_id=draft.procedure_id, published=True)
            .order_by("-version").values_list("pk", flat=True).first()
        )
    if form.pk != current:
        raise ValidationFailed(
            "様式が改訂されました。お手数ですが、新しい様式でもう一度入力してください。", code="portal.form_changed"
        )
    data = unseal(definition, draft.data)
    with transaction.atomic():
        # lock the draft row: a second click waits here, then finds the application this one linked
        linked = Draft.objects.select_for_update().values_list("application_id", flat=True).get(pk=draft.pk)
        if linked:
            return Application.objects.get(pk=linked)
        application = app_services.application_submit(
            procedure=draft.procedure,
            data=data,
            channel=Channel.ONLINE,
            actor=identity.actor(),
            applicant=_resident(identity),
            idempotency_key=draft.idempotency_key,
            needs_review="" if identity.resident_id else "【identify.account】メールアカウントからの申請です（本人確認なし）。",
            context=SubmitContext(
                procedure_id=draft.procedure_id,
                form=form,
                definition=definition,
                initial_status_id=getattr(draft, "initial_status_id", None),  # read by my_draft(to_submit=True)
            ),
            # the key is the draft's, and the application is linked to the locked draft in this same
            # transaction: no link means no application with the key (the unique constraint still holds)
            idempotency_checked=True,
        )
        # the draft row is locked: nobody else can link this application at the same time; the application
        # holds the data now, so nothing sensitive stays in the draft
        _link_and_close(draft_id=draft.pk, application=application, owner=owner_key(identity),
                        email=_contact_email(identity, data)[:254])
    draft.application = application
    draft.data = {}
    _after_commit_receipt(application, _contact_email(identity, data))
    return application


def _link_and_close(*, draft_id: int, application: Application, owner: str, email: str) -> None:
    """The owner link for マイページ and the draft emptied and pointed at its application: one round trip on
    PostgreSQL (a data-modifying WITH), two statements elsewhere."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                'WITH "link" AS (INSERT INTO "portal_portalapplication" ("application_id", "owner", "email",'
                ' "created_at") VALUES (%s, %s, %s, %s))'
                ' UPDATE "portal_draft" SET "application_id" = %s, "data" = %s::jsonb, "updated_at" = %s'
                ' WHERE "id" = %s',
                [application.pk, owner, email, now, application.pk, "{}", now, draft_id],
            )
        return
    PortalApplication.objects.create(application=application, owner=owner, email=email)
    Draft.objects.filter(pk=draft_id).update(application=application, data={}, updated_at=now)


def _after_commit_receipt(application: Application, to: str) -> None:
    if to:
        from madoguchi.portal.tasks import receipt_mail

        transaction.on_commit(lambda: receipt_mail.delay(application.pk, to))


def _link(*, application: Application, identity: PortalIdentity, email: str) -> None:
    PortalApplication.objects.get_or_create(
        application=application, defaults={"owner": owner_key(identity), "email": email[:254]}
    )


@dataclass(frozen=True)
class SignedOutcome:
    application: Application | None
    code: str = ""
    message: str = ""


def draft_submit_signed(*, draft: Draft, identity: PortalIdentity, signed_xml: bytes, ip: str = "") -> SignedOutcome:
    """Submit a draft signed with the 署名用 certificate: it enters 申請管理 exactly like a ぴったり
    package (signature, chain and CRL checked; applicant identified by the certificate's serial)."""
    from madoguchi.identity.signing import signed_application_submit

    if draft.application_id:
        return SignedOutcome(draft.application)
    if not identity.has_card:
        raise PermissionDeniedError("マイナンバーカードでログインしてください。", code="portal.card_required")
    _rate_limit(identity, ip)
    definition = draft.form_version.parsed()
    data = unseal(definition, draft.data)
    result = signed_application_submit(
        identity=identity, procedure=draft.procedure, signed_xml=signed_xml, data=data,
        external_id=str(draft.token),
    )
    if result.application_id is None:
        return SignedOutcome(None, code=result.code or "signature.invalid", message=result.message or "")
    application = Application.objects.get(pk=result.application_id)
    with transaction.atomic():
        _link(application=application, identity=identity, email=_contact_email(identity, data))
        Draft.objects.filter(pk=draft.pk).update(application=application, data={}, updated_at=timezone.now())
    draft.application = application
    _after_commit_receipt(application, _contact_email(identity, data))
    return SignedOutcome(application)


def receipt_email(*, application: Application, to: str) -> None:
    """受付のお知らせ. No personal data in the mail: the number, the procedure, and where to look."""
    if not to:
        return
    url = getattr(settings, "MADOGUCHI_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")
    body = (
        f"{application.municipality.name}です。オンライン申請を受け付けました。\n\n"
        f"受付番号: {application.reception_number}\n"
        f"手続: {application.procedure.name}\n"
        f"受付日時: {wareki_datetime(application.submitted_at)}\n\n"
        f"進み具合はマイページで確認できます: {url}{reverse('portal:my')}\n"
        "このメールに心当たりがない場合は、お手数ですが市役所までご連絡ください。\n"
    )
    try:
        send_mail(
            subject=f"【{application.municipality.name}】申請を受け付けました（{application.reception_number}）",
            message=body,
            from_email=None,
            recipient_list=[to],
        )
    except Exception:  # the application is safe; a mail outage must not fail the request
        logger.exception("portal.receipt_mail_failed", extra={"application": application.pk})


def portal_resubmit(*, application: Application, identity: PortalIdentity, answers: Mapping[str, Any]) -> Application:
    """Answer a 補正依頼: only the fields the staff asked for change; the rest stays as stored."""
    definition = application.form_version.parsed()
    allowed = set(application.correction_fields)
    unexpected = set(answers) - allowed
    if unexpected:
        raise ValidationFailed("補正を求められていない項目は変更できません。", code="portal.correction_field")
    # start from the stored values (each 個人番号 is carried over by the service), replace the asked-for fields
    data = strip_secrets(definition, application.data)
    for key in allowed:
        if key in answers:
            data[key] = answers[key]
        else:
            data.pop(key, None)
    data = unseal(definition, data)
    return app_services.application_resubmit(application=application, data=data, actor=identity.actor())


def portal_withdraw(*, application: Application, identity: PortalIdentity) -> Application:
    return app_services.application_withdraw(application=application, actor=identity.actor(), reason="")


# ------------------------------------------------------------------ visit reservations
# The 転入予約 books into the counter's reservations (``reception``): the 住民異動 service's slots,
# capacity, opening hours and 閉庁日, the same seats the kiosk and the counter staff see.
def _move_service(municipality: Any) -> Any:
    from madoguchi.reception.services import service_ensure_default

    return service_ensure_default(municipality=municipality)


def slots_available(*, municipality: Any, start: date, days: int = 14) -> list[tuple[date, list[tuple[time, int]]]]:
    """Open business days from ``start`` with the free seats of each slot of the 住民異動 service."""
    from madoguchi.reception.selectors import slots_available as reception_slots

    return reception_slots(service=_move_service(municipality), start=start, days=days)


def first_bookable_day(municipality: Any, now: datetime | None = None) -> date:
    from madoguchi.reception.services import first_bookable_day as reception_first_day

    return reception_first_day(municipality, now)


def reservation_book(
    *, application: Application, identity: PortalIdentity, day: date, start: time, purpose: str
) -> Any:
    """Book a visit slot for an application (one per application; a new booking replaces the old)."""
    from madoguchi.reception.services import reservation_book as reception_book

    link = PortalApplication.objects.filter(application=application).first()
    return reception_book(
        service=_move_service(application.municipality),
        day=day,
        start=start,
        actor_label=identity.actor().label,
        owner=owner_key(identity),
        name=identity.name,
        email=(link.email if link else "") or identity.email,
        purpose=purpose,
        application=application,
    )


# ------------------------------------------------------------------ from the department to the applicant
def _require_department(application: Application, actor: Any) -> None:
    roles = actor.roles_for(application.department_id) if actor.is_staff else frozenset()
    if (
        not actor.is_staff
        or actor.municipality is None
        or actor.municipality.pk != application.municipality_id
        or not actor.can_see_department(application.department_id)
        or not roles & {"handler", "approver", "admin", "clerk"}
    ):
        raise PermissionDeniedError("この申請の申請者に連絡する権限がありません。", code="permission.denied")


def resident_message_send(*, application: Application, actor: Any, body: str) -> Any:
    """お知らせ to the applicant, shown in マイページ (and by mail if they gave an address)."""
    from madoguchi.portal.models import ResidentMessage

    _require_department(application, actor)
    text = body.strip()
    if not text or len(text) > 2000:
        raise ValidationFailed("お知らせの本文を2,000文字以内で入力してください。", code="message.invalid")
    with transaction.atomic():
        message = ResidentMessage.objects.create(
            application=application, body=text, sender_label=actor.label, sent_at=timezone.now()
        )
        audit_record(
            actor=actor.label, action="portal.message_sent", municipality_code=application.municipality.code,
            object_type="application", object_id=application.reception_number, detail={"length": len(text)},
        )
    link = PortalApplication.objects.filter(application=application).first()
    if link and link.email:
        _after_commit_notice(application, link.email, "お知らせ")
    return message


def document_issue(*, application: Application, actor: Any, content: bytes, filename: str) -> Any:
    """交付文書 (a PDF the department issues): stored content-addressed, downloadable by the applicant."""
    from madoguchi.applications.storage import blob_store
    from madoguchi.portal.models import IssuedDocument

    _require_department(application, actor)
    stored = blob_store(content=content, filename=filename, allowed=["application/pdf"])
    with transaction.atomic():
        document = IssuedDocument.objects.create(
            application=application, blob_id=stored.sha256, filename=stored.filename,
            issued_by_label=actor.label, issued_at=timezone.now(),
        )
        audit_record(
            actor=actor.label, action="portal.document_issued", municipality_code=application.municipality.code,
            object_type="application", object_id=application.reception_number,
            detail={"sha256": stored.sha256, "size": stored.size},
        )
    link = PortalApplication.objects.filter(application=application).first()
    if link and link.email:
        _after_commit_notice(application, link.email, "交付文書")
    return document


def _after_commit_notice(application: Application, to: str, what: str) -> None:
    from madoguchi.portal.tasks import notice_mail

    transaction.on_commit(lambda: notice_mail.delay(application.pk, to, what))


def notice_email(*, application: Application, to: str, what: str) -> None:
    url = getattr(settings, "MADOGUCHI_PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")
    try:
        send_mail(
            subject=f"【{application.municipality.name}】{what}があります（{application.reception_number}）",
            message=(
                f"{application.municipality.name}です。受付番号 {application.reception_number} の申請について、"
                f"{what}があります。\nマイページでご確認ください: {url}{reverse('portal:my')}\n"
            ),
            from_email=None,
            recipient_list=[to],
        )
    except Exception:
        logger.exception("portal.notify_mail_failed", extra={"application": application.pk})


def move_in_day(*, application: Application) -> date | None:
    """The move date the resident gave (転入予約: 転入予定日): slots are offered from that day on."""
    for key, value in application.data.items():
        if "date" in key and ("move" in key or "tennyu" in key) and isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                continue
    return None

"""The 申請管理 core through its services, against the real database."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from madoguchi.applications import services
from madoguchi.applications.models import Application, ApplicationEvent, Attachment, Blob
from madoguchi.applications.storage import blob_path, blob_store
from madoguchi.core.audit import audit_verify
from madoguchi.core.errors import (
    AttachmentRejected,
    ConcurrentUpdate,
    PermissionDeniedError,
    TransitionNotAllowed,
    ValidationFailed,
)
from madoguchi.core.jp.business_days import add_business_days
from madoguchi.core.models import AuditEvent, Role
from madoguchi.core.scope import Actor

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n" + b"0" * 100


def _two_step_procedure(municipality: Any) -> Any:
    """A 子育て procedure whose 決裁 needs a 決裁者 and then a 管理者."""
    from madoguchi.catalog.services import procedure_upsert
    from tests.conftest import SIMPLE_FORM

    spec = {
        "procedure_id": "two-step",
        "name": "二段決裁",
        "department": "kosodate",
        "approval_chain": ["approver", "admin"],
        "standard_days": 5,
        "form": SIMPLE_FORM,
    }
    return procedure_upsert(municipality=municipality, spec=spec)


def submit(procedure: Any, data: dict[str, Any], **kw: Any) -> Application:
    return services.application_submit(
        procedure=procedure,
        data=data,
        channel=kw.pop("channel", "online"),
        actor=kw.pop("actor", Actor.system("online")),
        **kw,
    )


@pytest.mark.django_db
class TestSubmit:
    def test_submission_gets_number_deadline_history_and_audit(
        self, procedure: Any, valid_data: dict
    ) -> None:
        at = timezone.make_aware(timezone.datetime(2026, 12, 25, 10, 0))
        app = submit(procedure, valid_data, submitted_at=at)
        assert re.fullmatch(r"R08-子育-\d{6}", app.reception_number)
        assert app.status.name == "受付"
        assert app.deadline == add_business_days(date(2026, 12, 25), 10)
        assert app.applicant_name == "山田 太郎"
        assert app.applicant_kana == "ヤマダ タロウ"
        assert app.data["birth_date"] == "1985-04-01"
        assert [e.kind for e in app.events.all()] == ["submitted"]
        assert (
            AuditEvent.objects.filter(action="application.submit", object_id=app.reception_number).count()
            == 1
        )

    def test_numbers_are_sequential_per_municipality(self, procedure: Any, valid_data: dict) -> None:
        first, second = submit(procedure, valid_data), submit(procedure, valid_data)
        assert int(second.reception_number[-6:]) == int(first.reception_number[-6:]) + 1

    def test_mynumber_is_encrypted_at_rest(self, procedure: Any, valid_data: dict) -> None:
        app = submit(procedure, valid_data)
        with connection.cursor() as cur:
            cur.execute("SELECT data FROM applications_application WHERE id = %s", [app.pk])
            raw = str(cur.fetchone()[0])
        assert "123456789018" not in raw
        assert "9018" in app.data["mynumber"]["masked"]

    def test_invalid_data_writes_nothing(self, procedure: Any) -> None:
        audit_before = AuditEvent.objects.count()
        with pytest.raises(ValidationFailed) as exc:
            submit(
                procedure,
                {
                    "name": "",
                    "name_kana": "Yamada",
                    "birth_date": "平成31年5月1日",
                    "mynumber": "123456789012",
                    "nickname": "x",
                },
            )
        codes = {e.path: e.code for e in exc.value.details}
        assert codes["name"] == "form.required"
        assert codes["name_kana"] == "form.kana_invalid"
        assert codes["birth_date"] == "form.date_invalid"
        assert codes["mynumber"] == "form.mynumber_invalid"
        assert codes["nickname"] == "form.unknown_field"
        assert "123456789012" not in str(exc.value) + repr(exc.value.details)
        assert Application.objects.count() == 0
        assert AuditEvent.objects.count() == audit_before

    def test_idempotency_key_returns_the_first_application(self, procedure: Any, valid_data: dict) -> None:
        first = submit(procedure, valid_data, idempotency_key="pkg-1")
        again = submit(procedure, valid_data, idempotency_key="pkg-1")
        assert again.pk == first.pk
        assert Application.objects.count() == 1

    def test_attachment_must_be_stored_first(self, procedure: Any, valid_data: dict) -> None:
        ref = {"sha256": "a" * 64, "filename": "x.pdf", "mime": "application/pdf", "size": 10}
        with pytest.raises(ValidationFailed) as exc:
            submit(procedure, valid_data | {"proof": ref})
        assert exc.value.code == "attachment.missing"
        stored = blob_store(content=PDF, filename="保険証.pdf")
        app = submit(procedure, valid_data | {"proof": stored.as_reference()})
        assert [a.filename for a in Attachment.objects.filter(application=app)] == ["保険証.pdf"]


@pytest.mark.django_db
class TestAttachments:
    def test_content_addressed_once(self) -> None:
        a = blob_store(content=PNG, filename="a.png")
        b = blob_store(content=PNG, filename="b.png", declared_mime="image/png")
        assert a.sha256 == b.sha256 and Blob.objects.count() == 1
        assert blob_path(a.sha256).read_bytes() == PNG

    def test_too_large_refused(self, settings: Any) -> None:
        settings.MADOGUCHI_ATTACHMENT_MAX_BYTES = 50
        with pytest.raises(AttachmentRejected) as exc:
            blob_store(content=PDF, filename="big.pdf")
        assert exc.value.code == "attachment.too_large"
        assert Blob.objects.count() == 0

    def test_mislabelled_refused(self) -> None:
        with pytest.raises(AttachmentRejected) as exc:
            blob_store(content=PDF, filename="photo.png", declared_mime="image/png")
        assert exc.value.code == "attachment.mime_mismatch"

    def test_unknown_type_refused(self) -> None:
        with pytest.raises(AttachmentRejected) as exc:
            blob_store(content=b"MZ\x90\x00 this is an exe", filename="virus.pdf")
        assert exc.value.code == "attachment.type_not_allowed"
        assert "PDF" in exc.value.message


@pytest.mark.django_db
class TestWorkflow:
    def test_full_path_with_approval(
        self, procedure: Any, valid_data: dict, handler: Actor, approver: Actor
    ) -> None:
        app = submit(procedure, valid_data)
        app = services.application_transition(application=app, to="reviewing", actor=handler)
        app = services.application_transition(application=app, to="pending_approval", actor=handler)
        app = services.application_approve(application=app, actor=approver)
        assert app.status.name == "承認"
        app = services.application_transition(application=app, to="completed", actor=handler)
        assert app.status.name == "完了"
        kinds = list(app.events.values_list("kind", flat=True))
        assert kinds == ["submitted", "transition", "transition", "approval", "transition", "transition"]
        assert audit_verify().ok

    def test_disallowed_transition_writes_nothing(
        self, procedure: Any, valid_data: dict, handler: Actor
    ) -> None:
        app = submit(procedure, valid_data)
        events = ApplicationEvent.objects.count()
        with pytest.raises(TransitionNotAllowed):
            services.application_transition(application=app, to="completed", actor=handler)
        app.refresh_from_db()
        assert app.status.code == "received" and app.version == 1
        assert ApplicationEvent.objects.count() == events

    def test_role_is_checked(self, procedure: Any, valid_data: dict, handler: Actor, make_staff: Any) -> None:
        clerk = make_staff("madoguchi", (Role.CLERK, None))
        app = submit(procedure, valid_data)
        with pytest.raises(PermissionDeniedError):
            services.application_transition(application=app, to="reviewing", actor=clerk)
        app = services.application_transition(application=app, to="reviewing", actor=handler)
        app = services.application_transition(application=app, to="pending_approval", actor=handler)
        with pytest.raises(PermissionDeniedError):  # a handler cannot approve
            services.application_approve(application=app, actor=handler)

    def test_other_department_cannot_act(
        self, procedure: Any, valid_data: dict, kaigo_handler: Actor
    ) -> None:
        app = submit(procedure, valid_data)
        with pytest.raises(PermissionDeniedError) as exc:
            services.application_transition(application=app, to="reviewing", actor=kaigo_handler)
        assert exc.value.code == "permission.department"

    def test_other_municipality_cannot_act(
        self, procedure: Any, valid_data: dict, other_municipality: Any, make_staff: Any
    ) -> None:
        outsider = make_staff("outsider", (Role.ADMIN, None), m=other_municipality)
        app = submit(procedure, valid_data)
        with pytest.raises(PermissionDeniedError):
            services.application_transition(application=app, to="reviewing", actor=outsider)

    def test_reason_required_for_rejection(
        self, procedure: Any, valid_data: dict, handler: Actor, approver: Actor
    ) -> None:
        app = submit(procedure, valid_data)
        app = services.application_transition(application=app, to="reviewing", actor=handler)
        with pytest.raises(ValidationFailed) as exc:
            services.application_transition(application=app, to="rejected", actor=approver, reason="  ")
        assert exc.value.code == "workflow.reason_required"
        app = services.application_transition(
            application=app, to="rejected", actor=approver, reason="所得超過"
        )
        assert app.status.is_terminal

    def test_sender_cannot_approve_own_request(
        self, procedure: Any, valid_data: dict, make_staff: Any
    ) -> None:
        both = make_staff("both", (Role.HANDLER, "kosodate"), (Role.APPROVER, "kosodate"))
        app = submit(procedure, valid_data)
        app = services.application_transition(application=app, to="reviewing", actor=both)
        app = services.application_transition(application=app, to="pending_approval", actor=both)
        with pytest.raises(PermissionDeniedError) as exc:
            services.application_approve(application=app, actor=both)
        assert exc.value.code == "approval.same_person"

    def test_two_step_approval_chain(
        self, municipality: Any, valid_data: dict, handler: Actor, approver: Actor, make_staff: Any
    ) -> None:
        proc = _two_step_procedure(municipality)
        chief = make_staff("kacho", (Role.ADMIN, None))
        app = submit(proc, valid_data)
        app = services.application_transition(application=app, to="reviewing", actor=handler)
        app = services.application_transition(application=app, to="pending_approval", actor=handler)
        with pytest.raises(PermissionDeniedError):  # step 1 needs 決裁者
            services.application_approve(application=app, actor=chief)
        app = services.application_approve(application=app, actor=approver)
        assert app.status.code == "pending_approval" and app.approval_step == 1
        app = services.application_approve(application=app, actor=chief)
        assert app.status.code == "approved"

    def test_correction_and_resubmission_extends_deadline(
        self, procedure: Any, valid_data: dict, handler: Actor
    ) -> None:
        app = submit(procedure, valid_data)
        with pytest.raises(ValidationFailed):
            services.application_request_correction(application=app, actor=handler, fields=[], reason="x")
        app = services.application_request_correction(
            application=app, actor=handler, fields=["name_kana"], reason="カナが住民票と違います"
        )
        assert app.status.name == "補正依頼" and app.correction_fields == ["name_kana"]
        # pretend the applicant took three office days to answer
        Application.objects.filter(pk=app.pk).update(
            correction_requested_at=timezone.now() - timedelta(days=7)
        )
        deadline = app.deadline
        app = services.application_resubmit(
            application=app, actor=Actor.resident("r1"), data=valid_data | {"name_kana": "ヤマダ タロウ"}
        )
        assert app.status.name == "再提出"
        assert app.deadline is not None and deadline is not None and app.deadline > deadline
        assert app.correction_fields == []

    def test_withdraw(self, procedure: Any, valid_data: dict) -> None:
        app = submit(procedure, valid_data)
        app = services.application_withdraw(application=app, actor=Actor.resident("r1"), reason="")
        assert app.status.name == "取下げ"
        with pytest.raises(TransitionNotAllowed):
            services.application_withdraw(application=app, actor=Actor.resident("r1"), reason="")

    def test_stale_version_is_refused(self, procedure: Any, valid_data: dict, handler: Actor) -> None:
        app = submit(procedure, valid_data)
        services.application_transition(application=app, to="reviewing", actor=handler, expected_version=1)
        with pytest.raises(ConcurrentUpdate) as exc:
            services.application_request_correction(
                application=app, actor=handler, fields=["name"], reason="x", expected_version=1
            )
        assert "再読み込み" in exc.value.message

    def test_mynumber_reveal_is_audited(self, procedure: Any, valid_data: dict, handler: Actor) -> None:
        app = submit(procedure, valid_data)
        assert services.application_reveal_mynumber(application=app, actor=handler, path="mynumber") == (
            "123456789018"
        )
        event = AuditEvent.objects.get(action="mynumber.view")
        assert event.actor == "kosodate" and "123456789018" not in str(event.detail)

    def test_comment_and_assign(self, procedure: Any, valid_data: dict, handler: Actor) -> None:
        app = submit(procedure, valid_data)
        services.application_comment(application=app, actor=handler, body="電話で確認済み")
        app = services.application_assign(application=app, actor=handler, assignee=handler.user)
        assert app.assignee == handler.user
        with pytest.raises(ValidationFailed):
            services.application_comment(application=app, actor=handler, body="   ")


@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_one_wins(
    procedure: Any, valid_data: dict, handler: Actor, approver: Actor
) -> None:
    """Two staff act on the same version at once: exactly one succeeds, the other is told to reload."""
    app = submit(procedure, valid_data)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(actor: Actor, to: str) -> None:
        try:
            barrier.wait()
            services.application_transition(application=app, to=to, actor=actor, expected_version=1)
            outcomes.append("ok")
        except ConcurrentUpdate:
            outcomes.append("conflict")
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=act, args=(handler, "reviewing")),
        threading.Thread(target=act, args=(approver, "reviewing")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    app.refresh_from_db()
    assert app.version == 2
    assert app.events.filter(kind="transition").count() == 1


@pytest.mark.django_db
def test_audit_tampering_is_detected(procedure: Any, valid_data: dict, handler: Actor) -> None:
    app = submit(procedure, valid_data)
    services.application_transition(application=app, to="reviewing", actor=handler)
    assert audit_verify().ok
    victim = AuditEvent.objects.get(action="application.submit")
    AuditEvent.objects.filter(pk=victim.pk).update(actor="someone-else")
    result = audit_verify()
    assert not result.ok and result.broken_at == victim.seq


@pytest.mark.django_db
def test_sent_back_approval_starts_again_at_step_one(
    municipality: Any, valid_data: dict, handler: Actor, approver: Actor, make_staff: Any
) -> None:
    proc = _two_step_procedure(municipality)
    chief = make_staff("kacho", (Role.ADMIN, None))
    app = submit(proc, valid_data)
    app = services.application_transition(application=app, to="reviewing", actor=handler)
    app = services.application_transition(application=app, to="pending_approval", actor=handler)
    app = services.application_approve(application=app, actor=approver)
    assert app.approval_step == 1
    app = services.application_transition(application=app, to="reviewing", actor=approver, reason="添付不足")
    app = services.application_transition(application=app, to="pending_approval", actor=handler)
    assert app.approval_step == 0
    with pytest.raises(PermissionDeniedError):  # step 1 (決裁者) cannot be skipped in the new round
        services.application_approve(application=app, actor=chief)


@pytest.mark.django_db
def test_resubmission_keeps_nested_mynumbers(procedure: Any, valid_data: dict, handler: Actor) -> None:
    from madoguchi.catalog.schema import parse_definition, strip_secrets

    data = valid_data | {"children": [{"child_name": "山田 花子", "child_mynumber": "123456789018"}]}
    app = submit(procedure, data)
    app = services.application_request_correction(
        application=app, actor=handler, fields=["name_kana"], reason="カナ"
    )
    resubmitted = strip_secrets(
        parse_definition(app.form_version.definition), app.data
    )  # what a portal sends
    resubmitted["name_kana"] = "ヤマダ イチロウ"
    app = services.application_resubmit(application=app, actor=Actor.resident("r1"), data=resubmitted)
    assert app.data["children"][0]["child_mynumber"]["masked"].endswith("9018")
    assert "$enc" in app.data["mynumber"]
    event = app.events.get(kind="resubmitted")
    assert event.detail["changed"] == ["name_kana"]  # re-encryption is not a change


@pytest.mark.django_db
def test_staff_withdrawal_needs_reason_residents_do_not(
    procedure: Any, valid_data: dict, handler: Actor
) -> None:
    app = submit(procedure, valid_data)
    with pytest.raises(ValidationFailed):
        services.application_act(application=app, to="withdrawn", actor=handler, reason="")
    app = services.application_act(application=app, to="withdrawn", actor=handler, reason="電話で申出")
    assert app.status.code == "withdrawn" and not app.is_open


@pytest.mark.django_db
def test_dx_assigned_to_a_department_still_sees_nothing(
    procedure: Any, valid_data: dict, make_staff: Any
) -> None:
    from django.core.exceptions import ValidationError

    from madoguchi.core.models import StaffAssignment

    dx = make_staff("dx2", (Role.DX, "kosodate"))
    assert not dx.sees_applications
    app = submit(procedure, valid_data)
    with pytest.raises(PermissionDeniedError):
        services.application_transition(application=app, to="reviewing", actor=dx)
    with pytest.raises(ValidationError):
        StaffAssignment.objects.get(user__username="dx2").full_clean()

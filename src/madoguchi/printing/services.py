"""Printing for the back office: one application's 申請書 as PDF, the print recorded in the audit chain
(personal data leaving the screen on paper, as the CSV export is)."""

from __future__ import annotations

from django.db import transaction

from madoguchi.applications.models import Application
from madoguchi.core.audit import audit_record
from madoguchi.core.scope import Actor
from madoguchi.printing.render import form_pdf


def application_print(*, actor: Actor, application: Application) -> bytes:
    """The 申請書 of an application the actor may see (the caller read it through a scoped selector)."""
    pdf = form_pdf(application=application)
    with transaction.atomic():
        audit_record(
            actor=actor.label,
            action="application.print",
            municipality_code=application.municipality.code,
            object_type="application",
            object_id=application.pk,
            detail={"reception_number": application.reception_number},
        )
    return pdf

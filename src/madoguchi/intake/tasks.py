"""Celery tasks (queue ``intake``, routed by name in settings). Thin: take a path, call the service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from madoguchi.intake.services import package_import_path


@shared_task(name="madoguchi.intake.import_package", acks_late=True)
def import_package(path: str, municipality_code: str | None = None) -> dict[str, Any]:
    result = package_import_path(path=path, municipality_code=municipality_code)
    return {
        "outcome": result.outcome,
        "filename": result.filename,
        "reception_number": result.reception_number,
        "code": result.code,
        "message": result.message,
        "application_id": result.application_id,
    }

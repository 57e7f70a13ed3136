"""Writes to the procedure catalog: default workflows and loading procedure fixtures."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from django.db import transaction

from madoguchi.catalog.models import FormVersion, Procedure, StatusType, Transition, Workflow
from madoguchi.catalog.schema import dump_definition, parse_definition
from madoguchi.catalog.workflows import STATUSES, WORKFLOWS
from madoguchi.core.audit import audit_record
from madoguchi.core.models import Department, Municipality

DEFAULT_DEPARTMENTS: list[tuple[str, str, str]] = [
    # code, name, short name used in 受付番号
    ("shimin", "市民課", "市民"),
    ("kosodate", "子育て支援課", "子育"),
    ("hoiku", "保育課", "保育"),
    ("kaigo", "介護保険課", "介護"),
    ("hoken", "保険年金課", "保険"),
    ("gakko", "学校教育課", "学校"),
    ("kikikanri", "危機管理課", "危機"),
    ("dx", "DX推進課", "DX"),
]


@transaction.atomic
def workflow_ensure_defaults() -> dict[str, Workflow]:
    """Create (or complete) the default workflows. Idempotent."""
    result: dict[str, Workflow] = {}
    for code, spec in WORKFLOWS.items():
        wf, _ = Workflow.objects.get_or_create(code=code, defaults={"name": spec["name"]})
        statuses: dict[str, StatusType] = {}
        for order, (scode, name, staff, initial, terminal, tone) in enumerate(STATUSES):
            statuses[scode], _ = StatusType.objects.update_or_create(
                workflow=wf,
                code=scode,
                defaults={
                    "name": name,
                    "order": order,
                    "staff_settable": staff,
                    "is_initial": initial,
                    "is_terminal": terminal,
                    "tone": tone,
                },
            )
        for order, (frm, to, label, roles, reason) in enumerate(spec["transitions"]):
            Transition.objects.update_or_create(
                workflow=wf,
                from_status=statuses[frm],
                to_status=statuses[to],
                defaults={"label": label, "roles": roles, "reason_required": reason, "order": order},
            )
        result[code] = wf
    return result


@transaction.atomic
def department_ensure_defaults(*, municipality: Municipality) -> dict[str, Department]:
    out = {}
    for code, name, short in DEFAULT_DEPARTMENTS:
        out[code], _ = Department.objects.get_or_create(
            municipality=municipality, code=code, defaults={"name": name, "short_name": short}
        )
    return out


def procedure_fixtures() -> list[dict[str, Any]]:
    """The bundled procedure fixtures (29 手続), parsed and sorted by id."""
    folder = resources.files("madoguchi.catalog") / "fixtures" / "procedures"
    items = [json.loads(f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".json")]
    return sorted(items, key=lambda d: d["procedure_id"])


@transaction.atomic
def procedure_upsert(
    *,
    municipality: Municipality,
    spec: dict[str, Any],
    actor: str = "system",
    workflows: dict[str, Workflow] | None = None,
) -> Procedure:
    """Create or update one procedure from a fixture spec; a changed form becomes a new version."""
    definition = dump_definition(parse_definition(spec["form"]))
    workflows = workflows or workflow_ensure_defaults()
    department = Department.objects.get(municipality=municipality, code=spec["department"])
    workflow = workflows["shinsei" if spec.get("approval_chain") else "todokede"]
    procedure, created = Procedure.objects.update_or_create(
        municipality=municipality,
        code=spec["procedure_id"],
        defaults={
            "name": spec["name"],
            "category": spec.get("category", ""),
            "department": department,
            "legal_basis": spec.get("legal_basis", ""),
            "standard_days": spec.get("standard_days", 0),
            "fee": spec.get("fee", 0),
            "required_attachments": spec.get("required_attachments", []),
            "approval_chain": spec.get("approval_chain", []),
            "life_events": spec.get("life_events", []),
            "pittari": spec.get("pittari", False),
            "portal": spec.get("portal", {}),
            "workflow": workflow,
        },
    )
    latest = procedure.forms.order_by("-version").first()
    if latest is None or latest.definition != definition:
        FormVersion.objects.create(
            procedure=procedure, version=(latest.version + 1) if latest else 1, definition=definition
        )
        audit_record(
            actor=actor,
            action="procedure.form_published",
            municipality_code=municipality.code,
            object_type="procedure",
            object_id=procedure.code,
            detail={"version": (latest.version + 1) if latest else 1, "created": created},
        )
    return procedure


def procedure_load_fixtures(*, municipality: Municipality, actor: str = "system") -> list[Procedure]:
    department_ensure_defaults(municipality=municipality)
    return [
        procedure_upsert(municipality=municipality, spec=spec, actor=actor) for spec in procedure_fixtures()
    ]

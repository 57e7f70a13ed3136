"""Fixtures of the hand-off outbox tests: approved applications, one target per method, eager Celery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from madoguchi.applications import services as app_services
from madoguchi.applications.models import Application
from madoguchi.core.models import Municipality
from madoguchi.core.scope import Actor
from madoguchi.handoff.models import HandoffTarget


@pytest.fixture
def make_approved(
    procedure: Any, valid_data: dict[str, Any], handler: Actor, approver: Actor
) -> Callable[..., Application]:
    def make(name: str = "山田 太郎", **extra: Any) -> Application:
        data = {**valid_data, "name": name, **extra}
        app = app_services.application_submit(
            procedure=procedure, data=data, channel="online", actor=Actor.system("online")
        )
        app = app_services.application_transition(application=app, to="reviewing", actor=handler)
        app = app_services.application_transition(application=app, to="pending_approval", actor=handler)
        return app_services.application_approve(application=app, actor=approver)

    return make


@pytest.fixture
def targets(municipality: Municipality) -> dict[str, HandoffTarget]:
    specs = {
        "transcribe": ("tenki", "児童手当システム (転記)", {}),
        "rpa": ("rpa-jidou", "児童手当システム (RPA)", {"format": "csv", "encoding": "cp932"}),
        "pull": ("kikan-api", "児童手当システム (API)", {}),
        "bulk": ("ikkatsu", "児童手当システム (一括)", {"format": "fixed", "widths": {"applicant_name": 12}}),
    }
    return {
        method: HandoffTarget.objects.create(
            municipality=municipality, code=code, name=name, method=method, layout=layout, max_attempts=3
        )
        for method, (code, name, layout) in specs.items()
    }

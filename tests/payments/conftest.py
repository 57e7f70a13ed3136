"""Fee-charging procedure and an application submitted by a resident (the one who pays)."""

from __future__ import annotations

from typing import Any

import pytest

from madoguchi.applications import services as application_services
from madoguchi.applications.models import Application
from madoguchi.core.scope import Actor

FEE = 300
RESIDENT = Actor.resident("demo:1")


@pytest.fixture
def fee_procedure(procedure: Any) -> Any:
    procedure.fee = FEE
    procedure.save(update_fields=["fee"])
    return procedure


@pytest.fixture
def application(fee_procedure: Any, valid_data: dict[str, Any]) -> Application:
    return application_services.application_submit(
        procedure=fee_procedure, data=valid_data, channel="online", actor=RESIDENT
    )

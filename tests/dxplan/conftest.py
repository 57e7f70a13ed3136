from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from madoguchi.core.models import Role
from madoguchi.core.scope import Actor


@pytest.fixture
def dx(make_staff: Callable[..., Actor]) -> Actor:
    return make_staff("dx", (Role.DX, None))


@pytest.fixture
def dx_client(client: Any, dx: Actor) -> Any:
    client.force_login(dx.user)
    return client

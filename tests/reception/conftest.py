"""Services and counters of みどり市 for 待たない窓口, and counter staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from madoguchi.core.models import Municipality, Role
from madoguchi.core.scope import Actor
from madoguchi.reception import services
from madoguchi.reception.models import Counter, Service


def _service_with_counter(municipality: Municipality, *, counter_number: int, **fields: Any) -> Service:
    service = Service.objects.create(municipality=municipality, **fields)
    counter = Counter.objects.create(
        municipality=municipality, number=counter_number, name=f"{counter_number}番窓口"
    )
    counter.services.add(service)
    return service


@pytest.fixture
def jumin(municipality: Municipality) -> Service:
    return _service_with_counter(
        municipality,
        counter_number=1,
        code="jumin",
        name="住民異動",
        prefix="住",
        capacity_per_slot=2,
        default_minutes=10,
    )


@pytest.fixture
def kosodate(municipality: Municipality) -> Service:
    return _service_with_counter(
        municipality,
        counter_number=2,
        code="kosodate",
        name="子育て",
        prefix="子",
        capacity_per_slot=1,
        default_minutes=12,
    )


@pytest.fixture
def counter1(jumin: Service) -> Counter:
    return Counter.objects.get(municipality=jumin.municipality, number=1)


@pytest.fixture
def clerk(make_staff: Callable[..., Actor]) -> Actor:
    return make_staff("madoguchi", (Role.CLERK, None))


@pytest.fixture
def bookable_day(municipality: Municipality) -> date:
    return services.first_bookable_day(municipality)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    from django.core.cache import cache

    cache.clear()

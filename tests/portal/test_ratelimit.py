"""Submit rate limits: fixed windows per resident and per client address, counted in one Redis round
trip (``core.cache.window_hits``), through a cache that keeps one Redis client."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from madoguchi.core.cache import RedisCache, window_hits
from madoguchi.identity.api import PortalIdentity
from madoguchi.portal import services


def test_window_hits_count_each_key_in_a_fixed_window() -> None:
    assert window_hits(["rl-a", "rl-b"], window=60) == [1, 1]
    assert window_hits(["rl-a", "rl-b"], window=60) == [2, 2]
    assert window_hits(["rl-a"], window=60) == [3]
    backend = caches["default"]
    if isinstance(backend, RedisCache):  # the window starts at the first hit and is not extended
        client = backend._cache.get_client(write=True)
        assert 0 < client.ttl(backend.make_key("rl-a")) <= 60
        assert backend.get("rl-a") == 3  # still a plain cache value


def test_the_redis_cache_keeps_one_client() -> None:
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        pytest.skip("no Redis (REDIS_URL unset)")
    assert backend._cache.get_client() is backend._cache.get_client(write=True)
    backend.set("one-client", 1, 60)
    assert backend.get("one-client") == 1


def test_limits_per_resident_and_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "SUBMIT_LIMIT", 2)
    monkeypatch.setattr(services, "SUBMIT_IP_LIMIT", 3)

    def resident(k: int) -> PortalIdentity:
        return PortalIdentity(method="password", label=f"acct:{k}", account_id=k)

    services._rate_limit(resident(1), "192.0.2.1")
    services._rate_limit(resident(1), "192.0.2.2")
    with pytest.raises(services.RateLimited):  # a third from the same resident, from anywhere
        services._rate_limit(resident(1), "192.0.2.3")
    services._rate_limit(resident(2), "192.0.2.9")
    services._rate_limit(resident(3), "192.0.2.9")
    services._rate_limit(resident(4), "192.0.2.9")
    with pytest.raises(services.RateLimited):  # a fourth from one address, whoever it is
        services._rate_limit(resident(5), "192.0.2.9")

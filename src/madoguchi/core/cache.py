"""Cache helpers: Django's Redis cache with one client per server, and fixed-window counters in one
round trip (rate limits).

Django's ``RedisCache`` builds a new ``redis.Redis`` client on every call (the connection pool is
shared, but each client builds its table of ≈170 response callbacks): a resident's submit made six.
``RedisCache`` here keeps one client per connection pool; ``redis.Redis`` is thread-safe (each command
takes a connection from the pool), so gthread workers share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property


class _OneClientPerPool(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # (Django's private helpers, which its stubs do not declare)
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with one client per server (see above)."""

    @cached_property
    def _cache(self) -> _OneClientPerPool:
        return _OneClientPerPool(self._servers, **self._options)  # type: ignore[attr-defined]


def window_hits(keys: Sequence[str], *, window: int) -> list[int]:
    """Count one hit on each fixed-window counter (created with ``window`` seconds to live on its first
    hit, as ``cache.add`` + ``cache.incr`` would); return the counts. One round trip on Redis."""
    backend = caches["default"]
    if isinstance(backend, DjangoRedisCache):
        client = backend._cache.get_client(write=True)  # type: ignore[attr-defined]
        pipe = client.pipeline(transaction=False)
        for key in keys:
            made = backend.make_and_validate_key(key)
            pipe.set(made, 0, ex=window, nx=True)
            pipe.incr(made)
        replies = pipe.execute()
        return [int(n) for n in replies[1::2]]
    counts = []
    for key in keys:
        backend.add(key, 0, timeout=window)
        try:
            counts.append(int(backend.incr(key)))
        except ValueError:  # expired between add and incr
            backend.set(key, 1, timeout=window)
            counts.append(1)
    return counts

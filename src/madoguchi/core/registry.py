"""One small generic registry for the seams that vary (identity, intake format, hand-off method, …).

Each module declares a base class that states its contract, including ``check_config()``, and a
``Registry[ThatBase]``. Plugins register with ``@registry.register("key")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

P = TypeVar("P")


class Plugin:
    """Base of every plugin. ``check_config`` returns problems an operator must fix (empty = fine)."""

    key: str = ""
    verbose_name: str = ""

    def check_config(self) -> list[str]:
        return []


class Registry(Generic[P]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._items: dict[str, P] = {}

    def register(self, key: str) -> Callable[[type[P]], type[P]]:
        def decorator(cls: type[P]) -> type[P]:
            if key in self._items:
                raise ValueError(f"{self.name}: plugin {key!r} is already registered")
            instance = cls()
            instance.key = key  # type: ignore[attr-defined]
            self._items[key] = instance
            return cls

        return decorator

    def __getitem__(self, key: str) -> P:
        try:
            return self._items[key]
        except KeyError:
            raise KeyError(
                f"{self.name}: no plugin {key!r} (known: {', '.join(sorted(self._items))})"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[P]:
        return iter(self._items.values())

    def keys(self) -> list[str]:
        return sorted(self._items)

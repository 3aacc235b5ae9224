"""A bounded map whose oldest entries make room: per-scan memory that stays flat however long the input.

Tables that correlate two records of one flow (a TLS hello and the certificate
that follows, an FTP login and its reply) only ever need the recent past; a
cap that stops adding would instead lose every flow after the first N.
"""

from __future__ import annotations

from typing import Generic, Hashable, Optional, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecentMap(Generic[K, V]):
    """At most ``limit`` entries; adding a new key beyond that drops the oldest one."""

    __slots__ = ("items", "limit")

    def __init__(self, limit: int) -> None:
        self.items: dict[K, V] = {}
        self.limit = max(limit, 1)

    def get(self, key: K) -> Optional[V]:
        return self.items.get(key)

    def put(self, key: K, value: V) -> None:
        items = self.items
        if key not in items and len(items) >= self.limit:
            del items[next(iter(items))]
        items[key] = value

    def pop(self, key: K) -> Optional[V]:
        return self.items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self.items

    def __len__(self) -> int:
        return len(self.items)

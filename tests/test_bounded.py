"""RecentMap: the oldest entries make room, so correlation tables stay flat over any input length."""

from __future__ import annotations

from detector.bounded import RecentMap


def test_oldest_entry_makes_room_and_updates_keep_their_place():
    recent: RecentMap[str, int] = RecentMap(3)
    for n, key in enumerate("abc"):
        recent.put(key, n)
    recent.put("a", 10)  # an update neither grows the map nor drops anything
    assert len(recent) == 3 and recent.get("a") == 10
    recent.put("d", 3)
    assert "a" not in recent and [recent.get(k) for k in "bcd"] == [1, 2, 3]
    assert recent.pop("c") == 2 and recent.pop("c") is None and len(recent) == 2


def test_a_long_stream_keeps_only_the_recent_past():
    recent: RecentMap[int, int] = RecentMap(1000)
    for n in range(100_000):
        recent.put(n, n)
    assert len(recent) == 1000 and 98_999 not in recent and recent.get(99_999) == 99_999

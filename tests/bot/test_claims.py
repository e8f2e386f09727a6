"""Claims on stored work: this process's own claim holds exactly while it holds it; another process's holds for its
lease when the store is shared, and is dead at once when the store is exclusive (that process has gone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.jobs.claims import Claimer

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def test_an_own_claim_holds_while_held_however_long_and_not_after():
    me = Claimer()
    doc = me.stamp(NOW, "k")
    assert me.live(doc, NOW + timedelta(hours=1), LEASE, "k")  # (a slow platform: still ours, not taken over)
    me.release("k")
    assert not me.live(doc, NOW, LEASE, "k")  # (this process gave it up, or failed: taken again at once)


def test_another_process_claim_is_dead_at_once_only_when_the_store_is_exclusive():
    earlier, now = Claimer(exclusive=True), Claimer(exclusive=True)
    assert earlier.name != now.name
    doc = earlier.stamp(NOW, "k")
    assert not now.live(doc, NOW, LEASE, "k")
    shared_earlier, shared_now = Claimer(), Claimer()
    doc = shared_earlier.stamp(NOW, "k")
    assert shared_now.live(doc, NOW + timedelta(seconds=30), LEASE, "k")
    assert not shared_now.live(doc, NOW + LEASE, LEASE, "k")


def test_a_claim_without_a_readable_time_is_dead():
    assert not Claimer().live({"claimed_at": "yesterday"}, NOW, LEASE, "k")
    assert not Claimer().live({}, NOW, LEASE, "k")

"""Claims on stored work: a process's own claim holds for its lease; another process's holds too when the store is
shared, and is dead at once when the store is exclusive (that process has gone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.jobs.claims import Claimer

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def test_a_claim_holds_for_its_lease_and_then_is_dead():
    me = Claimer()
    doc = me.stamp(NOW)
    assert me.live(doc, NOW + timedelta(minutes=1), LEASE)
    assert not me.live(doc, NOW + timedelta(minutes=2), LEASE)


def test_another_process_claim_is_dead_at_once_only_when_the_store_is_exclusive():
    earlier, now = Claimer(exclusive=True), Claimer(exclusive=True)
    assert earlier.name != now.name
    doc = earlier.stamp(NOW)
    assert earlier.live(doc, NOW, LEASE) and not now.live(doc, NOW, LEASE)
    shared_earlier, shared_now = Claimer(), Claimer()
    assert shared_now.live(shared_earlier.stamp(NOW), NOW + timedelta(seconds=30), LEASE)


def test_a_claim_without_a_readable_time_is_dead():
    assert not Claimer().live({"claimed_at": "yesterday"}, NOW, LEASE)
    assert not Claimer().live({}, NOW, LEASE)

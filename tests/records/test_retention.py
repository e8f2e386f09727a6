"""Retention: only cases closed more than N years ago are purged; open cases never; the purge is audited."""

from __future__ import annotations

from datetime import datetime, timedelta

from records_kit import LENA, Desk, at

from bot.jobs.expiry import EVENTS
from bot.records.audit import AUDIT_LOG, audit_rows
from bot.records.retention import purge, years_before
from storage.base import Store

NOW = at(2026, 11, 23, 12)  # retention 6 years: closed before 23 November 2020, 12:00 London time
COLLECTIONS = ("cases", "openings", "agenda", "agenda_index", "dialogs", EVENTS, AUDIT_LOG)


async def snapshot(store: Store) -> dict[str, list]:
    return {c: sorted(await store.scan(c), key=lambda kv: kv[0]) for c in COLLECTIONS}


async def history(store, all_policies) -> dict[str, str]:
    """Cases of every kind and age, by a short name."""
    desk = Desk(store, {"bcssp": all_policies["bcssp"]}, at(2018, 3, 5))
    refs = {"old": await desk.open_case()}
    await desk.resolve(LENA, refs["old"], at(2018, 3, 6))
    refs["old_harm"] = await desk.open_case(at(2019, 6, 3), immediate_risk="yes")
    refs["old_open"] = await desk.open_case(at(2016, 1, 5))  # never resolved: kept, however old
    refs["edge"] = await desk.open_case(at(2020, 11, 20))
    await desk.resolve(LENA, refs["edge"], at(2020, 11, 23, 13))  # closed an hour after the cut-off: kept
    refs["recent"] = await desk.open_case(at(2026, 11, 2))
    await desk.resolve(LENA, refs["recent"], at(2026, 11, 3))
    return refs


async def test_dry_run_lists_the_same_cases_and_changes_nothing(store, all_policies):
    refs = await history(store, all_policies)
    before = await snapshot(store)
    report = await purge(store, NOW, 6, dry_run=True)
    assert report.refs == (refs["old"], refs["old_harm"])
    assert report.dry_run and report.log_key == ""
    assert report.cutoff == datetime(2020, 11, 23, 12, tzinfo=NOW.tzinfo)
    assert await snapshot(store) == before
    real = await purge(store, NOW, 6, dry_run=False)
    assert real.refs == report.refs


async def test_real_run_removes_old_closed_cases_and_audits_the_purge(store, all_policies):
    refs = await history(store, all_policies)
    openings = dict(await store.scan("openings"))
    assert {doc["ref"] for doc in openings.values()} == set(refs.values())
    report = await purge(store, NOW, 6, dry_run=False, by="cli:ops")
    assert report.refs == (refs["old"], refs["old_harm"])
    assert sorted(await store.keys("cases")) == sorted([refs["old_open"], refs["edge"], refs["recent"]])
    assert {doc["ref"] for _, doc in await store.scan("openings")} == {refs["old_open"], refs["edge"], refs["recent"]}
    for _, doc in await store.scan("agenda"):
        assert not {refs["old"], refs["old_harm"]} & set(doc["refs"])
    entry = await store.get(AUDIT_LOG, report.log_key)
    assert entry is not None
    assert entry["action"] == "purged" and entry["by"] == "cli:ops" and entry["retention_years"] == 6
    assert entry["refs"] == sorted([refs["old"], refs["old_harm"]])
    assert entry["at"] == NOW.isoformat()
    rows = [r for r in await audit_rows(store) if r["action"] == "purged"]
    assert [(r["case"], r["policy"], r["who"]) for r in rows] == [
        (refs["old"], "bcssp", "cli:ops"), (refs["old_harm"], "bcssp", "cli:ops")]
    assert rows[0]["detail"] == "closed 2018-03-06; closed before 2020-11-23 (retention 6 years after closure)"
    assert (await purge(store, NOW, 6, dry_run=False)).refs == ()  # a second run finds nothing more


async def test_a_longer_period_keeps_more_and_an_empty_purge_is_still_audited(store, all_policies):
    refs = await history(store, all_policies)
    report = await purge(store, NOW, 8, dry_run=False)
    assert report.refs == (refs["old"],)  # the 2019 record is within 8 years
    assert (await purge(store, NOW.replace(hour=13), 100, dry_run=False)).refs == ()
    rows = [r for r in await audit_rows(store) if r["action"] == "purged"]
    assert rows[-1]["case"] == "" and rows[-1]["detail"].startswith("no case closed before 1926-11-23")


def test_years_before_handles_29_february():
    leap = datetime(2028, 2, 29, 9, tzinfo=NOW.tzinfo)
    assert years_before(leap, 6) == datetime(2022, 2, 28, 9, tzinfo=NOW.tzinfo)
    assert years_before(NOW, 6) == datetime(2020, 11, 23, 12, tzinfo=NOW.tzinfo)


async def dedupe_records(store: Store) -> None:
    """Platform-retry guards of every kind: expired, within the window, and with no readable time (an older marker
    format, or damaged: these age from when a sweep first sees them)."""
    await store.put(EVENTS, "slack-event:old", {"at": (NOW - timedelta(days=8)).isoformat()})
    await store.put(EVENTS, "teams-card:older", {"at": (NOW - timedelta(days=400)).isoformat()})
    await store.put(EVENTS, "slack-view:corrupt", {"at": "not a time"})
    await store.put(EVENTS, "slack-event:fresh", {"at": (NOW - timedelta(minutes=5)).isoformat()})
    await store.put(EVENTS, "slack-event:six-days", {"at": (NOW - timedelta(days=6)).isoformat()})
    await store.put(EVENTS, "teams:19:conv:1700000000000", {"seen": True})


async def test_purge_also_expires_dedupe_records_and_a_dry_run_only_counts_them(store, all_policies):
    refs = await history(store, all_policies)
    await dedupe_records(store)
    before = await snapshot(store)
    dry = await purge(store, NOW, 6, dry_run=True)
    assert dry.dedupe_records == 2 and dry.refs == (refs["old"], refs["old_harm"])
    assert await snapshot(store) == before  # nothing removed, nothing stamped
    real = await purge(store, NOW, 6, dry_run=False)
    assert real.dedupe_records == 2 and real.refs == dry.refs
    assert sorted(await store.keys(EVENTS)) == ["slack-event:fresh", "slack-event:six-days", "slack-view:corrupt",
                                                "teams:19:conv:1700000000000"]
    entry = await store.get(AUDIT_LOG, real.log_key)
    assert entry is not None and "dedupe_records" not in entry  # the audit entry is about cases only
    assert (await purge(store, NOW, 6, dry_run=False)).dedupe_records == 0


async def test_a_case_held_while_the_purge_runs_is_kept_and_the_audit_log_says_so(store, all_policies):
    """On a database a hold can be placed beside a running purge, after it listed the case and before it removes it:
    the case stays, with its data key, and the audit log says it was kept."""
    from bot.records.hold import place

    refs = await history(store, all_policies)
    scan = store.scan

    async def scan_then_hold(collection: str):  # (another replica's `hold`, right after the purge read the cases)
        found = await scan(collection)
        if collection == "cases" and not await store.get(AUDIT_LOG, "hold-placed"):
            await store.put(AUDIT_LOG, "hold-placed", {"at": NOW.isoformat()})
            await place(store, refs["old"], "Inquiry 7", "cli:legal", NOW)
        return found

    store.scan = scan_then_hold
    report = await purge(store, NOW, 6, dry_run=False, by="cli:ops")
    assert report.refs == (refs["old_harm"],)
    assert [(k.ref, k.held_since) for k in report.held] == [(refs["old"], "2026-11-23")]
    assert await store.get("cases", refs["old"]) is not None and await store.get("cases", refs["old_harm"]) is None
    rows = await audit_rows(store)
    assert sorted((r["case"], r["action"]) for r in rows if r["action"] in ("purged", "held_not_purged")) == [
        (refs["old"], "held_not_purged"), (refs["old"], "purged"), (refs["old_harm"], "purged")]  # (listed, then kept)
    assert [r["detail"] for r in rows if r["action"] == "held_not_purged"] == [
        "placed on legal hold while the purge ran (since 2026-11-23): kept"]

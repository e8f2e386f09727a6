"""The audit export: every event of every case and the audit log, oldest first, as CSV (formula-safe) or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from conftest import CHILD_DOB, CHILD_NAME
from records_kit import LENA, Desk, at

from bot.records.audit import AUDIT_LOG, COLUMNS, audit_rows, log_event, to_csv, to_json


async def two_cases(store, all_policies) -> tuple[str, str]:
    desk = Desk(store, {"surrey": all_policies["surrey"]}, at(2026, 11, 23))
    first = await desk.open_case()
    second = await desk.open_case(at(2026, 11, 24, 9))
    await desk.escalate(LENA, first, at(2026, 11, 25))
    return first, second


async def test_every_event_of_every_case_oldest_first(store, all_policies):
    first, second = await two_cases(store, all_policies)
    await log_event(store, {"at": at(2026, 11, 26).isoformat(), "by": "cli:ops", "action": "record_exported",
                            "ref": first, "policy": "surrey", "detail": f"{first}-record.docx"})
    rows = await audit_rows(store)
    assert [(r["case"], r["action"]) for r in rows] == [
        (first, "opened"), (second, "opened"), (first, "escalated"), (first, "record_exported")]
    assert rows[0] == {"at": "2026-11-23T10:00:00+00:00", "case": first, "policy": "surrey",
                       "who": "console:practitioner@example.org", "action": "opened",
                       "detail": "Stage 1: Internal Discussion; due 2026-11-25"}
    assert rows[2]["who"] == f"console:{LENA}"
    assert list(rows[0]) == list(COLUMNS)
    text = to_csv(rows) + to_json(rows)
    assert CHILD_NAME not in text and CHILD_DOB not in text and "Acacia" not in text


async def test_since_keeps_events_on_or_after_that_london_day(store, all_policies):
    first, second = await two_cases(store, all_policies)
    assert [r["case"] for r in await audit_rows(store, date(2026, 11, 24))] == [second, first]
    assert await audit_rows(store, date(2026, 11, 26)) == []
    # 23:30 UTC on 24 November is already 25 November in London in summer time; in November it is the same day.
    await log_event(store, {"at": "2026-07-24T23:30:00+00:00", "by": "bot", "action": "x", "ref": "ESC-2026-0009"})
    assert [r["case"] for r in await audit_rows(store, date(2026, 7, 25))][:1] == ["ESC-2026-0009"]


def test_csv_neutralises_spreadsheet_formulas():
    rows = [{"at": "2026-11-23T10:00:00+00:00", "case": "ESC-2026-0001", "policy": "surrey", "who": "+441234",
             "action": "@SUM(A1)", "detail": '=HYPERLINK("http://x.example","click")'},
            {"at": "2026-11-23T10:00:00+00:00", "case": "ESC-2026-0002", "policy": "surrey", "who": "-1",
             "action": "\tx", "detail": "a, \"quoted\"\nline"}]
    parsed = list(csv.reader(io.StringIO(to_csv(rows))))
    assert parsed[0] == list(COLUMNS)
    assert parsed[1][3:] == ["'+441234", "'@SUM(A1)", '\'=HYPERLINK("http://x.example","click")']
    assert parsed[2][3:] == ["'-1", "'\tx", "a, \"quoted\"\nline"]
    assert parsed[1][:3] == ["2026-11-23T10:00:00+00:00", "ESC-2026-0001", "surrey"]


def test_json_is_a_list_of_row_objects():
    rows = [{"at": "2026-11-23T10:00:00+00:00", "case": "ESC-2026-0001", "policy": "surrey", "who": "bot",
             "action": "nudge_sent", "detail": "1:due:2026-11-25"}]
    assert json.loads(to_json(rows)) == rows
    assert json.loads(to_json([])) == []


async def test_audit_log_keys_never_collide(store):
    entry = {"at": "2026-11-23T10:00:00+00:00", "by": "cli", "action": "record_exported", "ref": "ESC-2026-0001"}
    keys = {await log_event(store, entry) for _ in range(3)}
    assert len(keys) == 3 and len(await store.keys(AUDIT_LOG)) == 3


def test_streamed_exports_are_the_same_text_as_whole_ones() -> None:
    import json as _json

    from bot.records.audit import csv_lines, json_lines

    rows = [{"at": "2026-11-24T09:00:00+00:00", "case": "ESC-2026-0001", "policy": "surrey", "who": "bot",
             "action": "opened", "detail": "=SUM(A1)"},
            {"at": "2026-11-25T09:00:00+00:00", "case": "", "policy": "", "who": "cli:ops", "action": "purged",
             "detail": 'Zoë "quoted"\nline'}]
    assert "".join(json_lines(rows)) == _json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    assert "".join(json_lines([])) == "[]\n"
    assert "".join(csv_lines(rows)) == to_csv(rows) and "'=SUM(A1)" in to_csv(rows)

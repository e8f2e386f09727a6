"""docs/data-protection.md, the note a Data Protection Officer uses for a DPIA, against the code: every stored field
has a row in its inventory, every collection a table, and what the note says is sealed is what storage.sealed seals.

The inventory is machine-readable: each table follows a line `<!-- inventory: COLLECTION -->`, its first column is
the field in backticks (`stages[].reason` inside a list, `outcome.text` inside an object), and its "At rest" column
starts with sealed, clear or wrapped. A row marked "(being built)" is for a field another change is adding: it is
not counted as stale before the field exists, and once it exists the mark must go (the row is then checked as any).

A real case is also opened, changed, resolved, put on legal hold and kept by a purge through the core over a
SealedStore, and every record that run writes, in the data and in the key store (audit-log entries and the chain's
head included), is compared with the note, so a field added to a case (or to any record) fails here until it is
documented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints, is_typeddict

import pytest
from conftest import POLICIES
from records_kit import EMMA, JORDAN, LENA, STRANGER, Desk, at

import storage.collections as collections
from bot.cases.case import Case
from bot.door.state import MARKS
from bot.jobs.expiry import CHAT_CHANNELS
from bot.jobs.outbox import ChannelInfo
from bot.records.hold import place
from bot.records.retention import purge
from bot.types import Event, Reply, ThreadRef, UserRef
from dialogs.intake import RAISER_QUESTIONS
from policies.loader import POLICY_DIR, load_policies
from storage.base import Doc
from storage.common import SEQUENCES
from storage.keys import Keyring, new_key
from storage.memory_store import MemoryStore
from storage.sealed import CHAIN_SCOPE, DATA_KEYS, KEYRING_DOC, MARK, SEALING, SealedStore, sealed_fields

NOTE = Path(__file__).resolve().parents[2] / "docs" / "data-protection.md"
START = re.compile(r"^<!-- inventory: (\S+) -->$")
AT_REST = ("sealed", "clear", "wrapped")
BEING_BUILT = "(being built)"
HOLD_REASON = "Claim 2026/117 (Northshire County Court)"
HOW = ("Add a row to its table in docs/data-protection.md: what it holds, whether it can identify a child or is "
       "typed text, sealed or clear (and why), who sees it in chat and in files, how long it is kept.")


@dataclass(frozen=True)
class Row:
    field: str
    at_rest: str
    being_built: bool
    line: int


def cells(line: str) -> list[str]:
    """A Markdown table row's cells (a `\\|` inside a cell is not a border)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def read_inventory(text: str) -> dict[str, dict[str, Row]]:
    """Every inventory table: collection -> field -> its row (several tables of one collection add up)."""
    lines = text.splitlines()
    found: dict[str, dict[str, Row]] = {}
    number = 0
    while number < len(lines):
        start = START.match(lines[number].strip())
        number += 1
        if start is None:
            continue
        collection = start[1]
        header = cells(lines[number]) if number < len(lines) else []
        assert header[:1] == ["Field"] and "At rest" in header, (
            f"{NOTE.name} line {number + 1}: an inventory table must follow <!-- inventory: {collection} --> at "
            "once, with the columns Field ... At rest ...")
        rest = header.index("At rest")
        number += 2  # (the header and the line under it)
        table = found.setdefault(collection, {})
        while number < len(lines) and lines[number].startswith("|"):
            row = cells(lines[number])
            name = re.fullmatch(r"`([^`]+)`", row[0])
            assert name is not None, f"{NOTE.name} line {number + 1}: the first cell must be the field in backticks"
            words = row[rest].split() if len(row) > rest else []
            state = words[0].strip(":;,").lower() if words else ""
            assert state in AT_REST, (f"{NOTE.name} line {number + 1}: `{name[1]}`: At rest must start with one of "
                                      f"{', '.join(AT_REST)} (found {row[rest] if len(row) > rest else ''!r})")
            assert name[1] not in table, f"{NOTE.name} line {number + 1}: `{name[1]}` of {collection} twice"
            table[name[1]] = Row(name[1], state, BEING_BUILT in lines[number], number + 1)
            number += 1
    return found


INVENTORY = read_inventory(NOTE.read_text(encoding="utf-8"))


def top(path: str) -> str:
    """The top-level field a row is stored under: `stages[].reason` -> `stages`, `outcome.text` -> `outcome`."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def entry_type(hint: Any) -> tuple[Any, str]:
    """(the TypedDict a case field holds, "" for an object or "[]" for a list of them), or (None, "")."""
    if is_typeddict(hint):
        return hint, ""
    if get_origin(hint) is list and get_args(hint) and is_typeddict(get_args(hint)[0]):
        return get_args(hint)[0], "[]"
    return None, ""


def case_fields() -> dict[str, str]:
    """Every field of a stored case, nested TypedDicts' own fields (their total=False parents' included) as
    `field[].key` or `field.key`: path -> the TypedDict it belongs to."""
    paths: dict[str, str] = {}
    for name, hint in get_type_hints(Case).items():
        paths[name] = "Case"
        entry, suffix = entry_type(hint)
        if entry is not None:
            paths.update({f"{name}{suffix}.{key}": entry.__name__ for key in get_type_hints(entry)})
    return paths


CASE_FIELDS = case_fields()


def answer_fields() -> dict[str, str]:
    """Every Stage 1 answer a case can keep, as `child.<id>` (a sensitive question) or `details.<id>`: the questions
    of the procedures in policies/ and the raiser's own when they are not in the directory."""
    paths = {f"details.{q.id}": ["dialogs.intake.RAISER_QUESTIONS"] for q in RAISER_QUESTIONS}
    for policy in load_policies(POLICY_DIR).values():
        for question in policy.questions:
            side = "child" if question.sensitive else "details"
            paths.setdefault(f"{side}.{question.id}", []).append(f"policies/{policy.id}.toml")
    return {path: ", ".join(where) for path, where in paths.items()}


ANSWER_FIELDS = answer_fields()


def stored_collections() -> dict[str, str]:
    """Every collection the bot stores: storage/collections.py, the channels' own, the counters, the key store."""
    from adapters.teams.bot import WELCOMED
    from adapters.teams.references import REFS, USERS
    from adapters.teams.sender import MESSAGES

    names = {value: f"storage.collections.{name}" for name, value in vars(collections).items()
             if name.isupper() and isinstance(value, str)}
    names.update({collections.channel_collection(c, MARKS): "bot.door.state.MARKS" for c in CHAT_CHANNELS})
    names.update({collections.channel_collection("teams", space): "adapters/teams" for space in
                  (REFS, USERS, MESSAGES, WELCOMED)})
    names[SEQUENCES] = "storage.common.SEQUENCES"
    names[DATA_KEYS] = "storage.sealed.DATA_KEYS"
    return names


def sealed_by_code(collection: str, field: str) -> bool:
    return bool(sealed_fields(collection, {field: None}))


def exists(path: str) -> bool:
    return path in CASE_FIELDS or path in ANSWER_FIELDS


# --- the note against the code --------------------------------------------------------------------------------------
def test_the_derivation_of_case_fields_reaches_inside_the_lists_and_objects() -> None:
    """(So the checks below cannot pass by finding no nested field at all.)"""
    for path in ("ref", "child", "stages[].reason", "duties[].done_by", "nudges[].claimed_by", "outcome.text",
                 "extensions[].agreed_other", "events[].detail", "events[].at"):
        assert path in CASE_FIELDS, path
    assert "child.child_name" in ANSWER_FIELDS and "details.disputed" in ANSWER_FIELDS
    assert "details.child_name" not in ANSWER_FIELDS


def test_every_field_of_the_stored_case_has_a_row() -> None:
    rows = INVENTORY.get("cases", {})
    missing = [f"`{path}` ({owner})" for path, owner in CASE_FIELDS.items() if path not in rows]
    assert not missing, f"cases: no row for {', '.join(missing)}. {HOW}"


def test_every_stage1_answer_has_a_row_on_its_side_of_the_sensitive_line() -> None:
    rows = INVENTORY.get("cases", {})
    missing = [f"`{path}` ({where})" for path, where in ANSWER_FIELDS.items() if path not in rows]
    assert not missing, (f"cases: no row for {', '.join(missing)}: a `sensitive` question is kept in `child`, "
                         f"any other in `details` (bot.cases.case.split_answers). {HOW}")


def test_no_case_row_names_a_field_that_is_not_there() -> None:
    stale = [f"`{row.field}` (line {row.line})" for row in INVENTORY.get("cases", {}).values()
             if not exists(row.field) and not row.being_built]
    assert not stale, (f"cases: {', '.join(stale)} is not a field of bot.cases.case.Case (or of a Stage 1 question on "
                       "that side of the sensitive line): remove or correct the row")


def test_every_collection_has_a_table() -> None:
    missing = [f"`{name}` ({where})" for name, where in stored_collections().items() if name not in INVENTORY]
    assert not missing, (f"no inventory table for {', '.join(missing)}: add one after a line "
                         "<!-- inventory: NAME --> in docs/data-protection.md")


def test_no_row_is_still_marked_being_built_once_its_field_exists() -> None:
    landed = [f"`{row.field}` (line {row.line})" for row in INVENTORY.get("cases", {}).values()
              if row.being_built and exists(row.field)]
    assert not landed, (f"cases: {', '.join(landed)} is a field of the stored case now: remove {BEING_BUILT} and say "
                        "what it holds as built")


def test_what_the_note_says_is_sealed_is_what_storage_sealed_seals() -> None:
    wrong = []
    for collection, rows in INVENTORY.items():
        for row in rows.values():
            if collection == "cases" and row.being_built and not exists(row.field):
                continue  # (not there yet: checked once it is)
            if row.at_rest == "wrapped":
                if collection != DATA_KEYS:
                    wrong.append(f"{collection} `{row.field}` (line {row.line}): only the key store's data keys "
                                 "are wrapped")
                continue
            says = row.at_rest == "sealed"
            if sealed_by_code(collection, top(row.field)) != says:
                wrong.append(f"{collection} `{row.field}` (line {row.line}): the note says {row.at_rest}, "
                             f"storage.sealed.SEALING {'seals' if not says else 'does not seal'} it")
    assert not wrong, "; ".join(wrong)


def test_every_top_level_field_of_a_case_is_sealed_exactly_as_the_note_says() -> None:
    """Both ways: a field SEALING keeps in the clear is documented clear, and every other one sealed."""
    rows = INVENTORY.get("cases", {})
    plain = SEALING["cases"]["plain"]
    wrong = [f"`{name}`" for name in get_type_hints(Case) if name in rows
             and (rows[name].at_rest == "sealed") == (name in plain)]
    assert not wrong, f"cases: At rest disagrees with SEALING['cases']['plain'] for {', '.join(wrong)}"


# --- a real case, stored ---------------------------------------------------------------------------------------------
class RecordingStore(MemoryStore):
    """A memory store that remembers which collections were written to."""

    def __init__(self) -> None:
        super().__init__()
        self.written: set[str] = set()

    async def put(self, collection: str, key: str, doc: Doc) -> None:
        self.written.add(collection)
        await super().put(collection, key, doc)

    async def create(self, collection: str, key: str, doc: Doc) -> bool:
        self.written.add(collection)
        return await super().create(collection, key, doc)

    async def update(self, collection: str, key: str, fn: Any) -> Doc:
        self.written.add(collection)
        return await super().update(collection, key, fn)

    async def update_if_free(self, collection: str, key: str, fn: Any) -> Doc | None:
        self.written.add(collection)
        return await super().update_if_free(collection, key, fn)

    async def append(self, collection: str, head: tuple[str, str], key_of: Any, build: Any) -> int:
        self.written.update((collection, head[0]))  # (an audit-log entry and the chain's head)
        return await super().append(collection, head, key_of, build)


class Delivered:
    """The console's sender: keeps nothing, delivers everything."""

    async def post(self, thread: ThreadRef, reply: Reply, via: ThreadRef | None = None, key: str = "") -> ThreadRef:
        return thread


def stage1_form(policy_id: str) -> dict[str, str]:
    """A whole Stage 1 form's answers, valid for the procedure (the child's details included)."""
    answers = {}
    for question in POLICIES[policy_id].questions:
        if question.id == "immediate_risk":
            continue
        answers[question.id] = {"date": "2026-11-20", "yes_no": "yes"}.get(question.kind) or (
            question.options[0].id if question.kind == "choice" else f"Some words for {question.id}.")
    return answers


@pytest.fixture
async def lived() -> Any:
    """A GSCP case through its life over a SealedStore: opened (the child on a protection plan), a contact recorded,
    its timescale extended, a nudge sent, escalated, immediate harm declared, a duty done, its record downloaded and
    its status read, someone refused, resolved, put on legal hold, kept by a purge after its retention period; and
    beside it a Stage 1 dialog left part-way and a form accepted but not handled."""
    inner, keystore = RecordingStore(), RecordingStore()
    store = SealedStore(inner, keystore, Keyring.from_text(new_key(), "BOT_MASTER_KEY"))
    async with store:
        desk = Desk(store, {"gloucestershire": POLICIES["gloucestershire"]}, at(2026, 11, 23))
        desk.core.outbox.register(ChannelInfo("console", roots=False), Delivered())
        ref = await desk.open_case(child_status="1")
        told = await desk.chat(JORDAN).say(f"contact {ref} Sam Lee, sam.lee@police.example, Team Manager",
                                           event_id="console-contact-1")  # (with an id: a dedupe record too)
        assert told[-1].kind != "refused", told[-1].text
        await desk.act(JORDAN, "extend", ref, "2026-12-10", "Lena Okafor, Team Manager", "Priya Nair, DS",
                       "The strategy meeting is booked for then.")
        desk.clock.set(at(2026, 12, 9, 9))
        assert (await desk.core.jobs.run_pass(desk.clock.now(), expire=False)).sent, "no nudge was sent"
        await desk.core.work.settle()
        await desk.escalate(LENA, ref, at(2026, 12, 9, 11))
        await desk.act(JORDAN, "harm", ref)
        await desk.act(JORDAN, "done", f"{ref} 1")
        record = await desk.act(JORDAN, "record", ref)
        assert record.kind == "record"
        assert (await desk.chat(EMMA).say(f"status {ref}"))[-1].kind == "refused"
        assert (await desk.chat(JORDAN).say(f"status {ref}"))[-1].kind != "refused"  # (status_viewed)
        await desk.resolve(LENA, ref, at(2026, 12, 10, 10))
        await desk.core.work.settle()
        await place(store, ref, HOLD_REASON, "cli:dpo", at(2026, 12, 11))
        kept = await purge(store, at(2028, 1, 10), 1, dry_run=False, by="cli:dpo", dedupe=())  # (past its period)
        assert kept.held and kept.held[0].ref == ref and not kept.cases, kept
        await desk.chat(STRANGER).say("escalate")  # (left part-way: a dialog in progress)
        me = ThreadRef("console", JORDAN)
        taken = await desk.core.door.submit(Event.submitted(
            UserRef("console", JORDAN, email=JORDAN), me, stage1_form("gloucestershire"),
            {"step": "intake", "policy": "gloucestershire"}, event_id="form-left-waiting", reply_to=me))
        assert taken.ticket and not taken.errors, taken.errors
        yield store, inner, ref, keystore


async def test_a_real_case_stores_only_documented_fields_sealed_as_the_note_says(lived) -> None:
    store, inner, ref, _ = lived
    case = await store.get("cases", ref)
    raw = await inner.get("cases", ref)
    assert case is not None and raw is not None and case["status"] == "resolved"
    rows = INVENTORY["cases"]
    undocumented = sorted(set(case) - set(rows))
    assert not undocumented, f"the stored case has fields with no row: {undocumented}. {HOW}"
    wrong = [f"`{name}`: stored {'sealed' if _sealed(value) else 'clear'}, the note says {rows[name].at_rest}"
             for name, value in raw.items() if _sealed(value) != (rows[name].at_rest == "sealed")]
    assert not wrong, "; ".join(wrong)
    # (the scenario fills the lists and objects, so their sealing is checked on real values)
    assert case["stages"][0].get("reason") and case["stages"][0].get("actors"), case["stages"]
    assert case["extensions"][0].get("agreed_here") and case["outcome"].get("follow_up")
    assert any(d["status"] == "done" for d in case["duties"]) and any(n["status"] == "sent" for n in case["nudges"])
    assert case["hold"]["reason"] == HOLD_REASON and case["trail"]["count"] == len(case["events"])
    assert "Sam Lee" not in repr(raw) and "strategy meeting" not in repr(raw)  # (typed text: sealed)
    assert HOLD_REASON not in repr(raw)  # (a hold's reason: sealed)


async def test_every_record_the_run_writes_has_a_table_with_all_its_fields(lived) -> None:
    _, inner, _, keystore = lived
    assert {"cases", "dialogs", "inbox", "outbox", "events", "openings", "agenda", "audit_log", "meta"} <= inner.written
    assert keystore.written == {DATA_KEYS}
    actions = {doc.get("action") for _, doc in await inner.scan("audit_log")}
    assert {"case_opened", "record_downloaded", "access_refused", "status_viewed", "hold", "purged"} <= actions, actions
    held = {key for key, _ in await keystore.scan(DATA_KEYS)}
    assert {CHAIN_SCOPE, KEYRING_DOC} <= held and any(k.startswith("check:") for k in held), held
    problems = []
    for store, collection in [*((inner, c) for c in sorted(inner.written)), (keystore, DATA_KEYS)]:
        rows = INVENTORY.get(collection)
        if rows is None:
            problems.append(f"`{collection}` has no inventory table")
            continue
        for key, doc in await store.scan(collection):
            for name, value in doc.items():
                if name not in rows:
                    problems.append(f"{collection}/{key}: field `{name}` has no row")
                elif collection in SEALING and _sealed(value) != (rows[name].at_rest == "sealed"):
                    problems.append(f"{collection}/{key}: `{name}` is stored {'sealed' if _sealed(value) else 'clear'}"
                                    f", the note says {rows[name].at_rest}")
    assert not problems, f"{'; '.join(sorted(set(problems)))}. {HOW}"


def _sealed(value: Any) -> bool:
    return isinstance(value, dict) and MARK in value


def test_the_note_is_linked_from_the_readme() -> None:
    readme = (NOTE.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "](docs/data-protection.md)" in readme

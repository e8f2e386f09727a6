"""Nothing a person typed as free text comes back in chat: contacts, the other agency, who agreed an extension,
mistyped references, dates and weeks. A recorded contact is shown by its directory name when it names someone there,
otherwise as "recorded"; denials are audited without anything typed."""

from __future__ import annotations

import pytest
from scenario_kit import JORDAN, LENA, SAM, STRANGER, World, at

from bot.types import Event, Kind

CANARY = "Tommy Jones DOB 03/04/2015"


@pytest.fixture
async def world(store, all_policies, clock):
    return World(store, {"surrey": all_policies["surrey"]}, clock)


async def test_a_contact_typed_with_a_childs_details_is_recorded_but_never_repeated(world):
    ref = (await world.open_case()).case_ref
    (told,) = await world.person(LENA).say(f"contact {ref} DS Price re {CANARY}")
    assert told.text == f"Recorded the other agency's contact for {ref}: recorded (see the written record)."
    (status,) = await world.person(LENA).say(f"status {ref}")
    assert "Contact given by the other agency: recorded (see the written record)" in status.text
    assert (await world.case(ref))["actors"]["other_recorded"] == f"DS Price re {CANARY}"  # kept for the record
    assert "Tommy" not in world.person(LENA).all_text() and "2015" not in world.person(LENA).all_text()


async def test_a_contact_naming_someone_in_the_directory_is_shown_by_the_directorys_name(world):
    ref = (await world.open_case()).case_ref
    (told,) = await world.person(LENA).say(f"contact {ref} sam.patel@northshire-police.example.org, call after 2")
    assert told.text.endswith(": Sam Patel (Detective Inspector, Northshire Police).")
    assert "call after 2" not in told.text


@pytest.mark.parametrize("typed", ["status Zebedee Canary", "status ESC-12", "resolve Zebedee", "record zebedee"])
async def test_a_mistyped_reference_is_not_repeated(world, typed):
    (told,) = await world.person(JORDAN).say(typed)
    assert "ebedee" not in told.text and "ESC-12" not in told.text
    assert "That is not a case reference" in told.text


async def test_another_agency_typed_and_not_in_the_directory_is_only_pointed_to(world):
    reply = await world.open_case(other_agency=f"Fire Service {CANARY}")
    assert "Tommy" not in reply.text and "Fire Service" not in reply.text
    (status,) = await world.person(JORDAN).say(f"status {reply.case_ref}")
    assert "disagreement with the other agency (as named in the written record)" in status.text
    assert "Tommy" not in status.text and "Fire Service" not in status.text
    # At Stage 2 the other agency acts: it is named only by its place, never by what was typed.
    moved = await world.escalate(LENA, reply.case_ref)
    assert "and the other agency's practitioner." in moved.text
    assert "Tommy" not in moved.text and "Fire Service" not in moved.text


async def test_a_week_or_record_kind_mistyped_is_not_repeated(world):
    ref = (await world.open_case()).case_ref
    (week,) = await world.person(SAM).say(f"summary {CANARY}")
    (kind,) = await world.person(JORDAN).say(f"record {ref} {CANARY}")
    assert "Tommy" not in week.text + kind.text


async def test_refusals_are_audited_with_the_case_only_when_it_is_real(world, store):
    ref = (await world.open_case()).case_ref
    world.set_time(at(2026, 11, 23, 11))
    await world.person(STRANGER).say(f"status {ref}")
    await world.person(STRANGER).say("status ESC-2026-0999")
    await world.person(STRANGER).say(f"contact {ref} {CANARY}")
    logged = sorted(([d["by"], d["action"], d["ref"], d["detail"], d["at"]] for _, d in await store.scan("audit_log")
                     if d["action"] != "case_opened"), key=lambda row: (row[3], row[2]))
    assert logged == [
        [f"console:{STRANGER}", "access_refused", ref, "contact", "2026-11-23T11:00:00+00:00"],
        [f"console:{STRANGER}", "access_refused", "", "status", "2026-11-23T11:00:00+00:00"],
        [f"console:{STRANGER}", "access_refused", ref, "status", "2026-11-23T11:00:00+00:00"],
    ]
    assert "Tommy" not in str(await store.scan("audit_log"))


async def test_a_summary_refused_and_a_forged_action_form_are_audited(world, store):
    world.set_time(at(2026, 11, 23, 11))
    (refused,) = await world.person(STRANGER).say("summary")
    assert refused.kind == Kind.REFUSED
    chat = world.person(STRANGER)
    forged = Event.submitted(chat.user, chat.thread, {"outcome": CANARY},
                             {"step": "action", "action": f"delete {CANARY}", "ref": CANARY, "stage": 1},
                             event_id="forged-1", reply_to=chat.thread)
    taken = await world.core.door.submit(forged)
    assert taken.refused is not None and not taken.ticket
    logged = sorted([d["by"], d["action"], d["ref"], d["detail"]] for _, d in await store.scan("audit_log"))
    assert logged == [[f"console:{STRANGER}", "access_refused", "", "an action form"],
                      [f"console:{STRANGER}", "access_refused", "", "summary"]]
    assert "Tommy" not in str(await store.scan("audit_log"))

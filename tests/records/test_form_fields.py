"""form_values and forms_for as pure functions over case dicts built with bot.cases.case and bot.cases.workflow."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from conftest import CHILD_NAME, SEED_IDS
from records_kit import DIRECTORY, at

from bot.cases import workflow
from bot.cases.case import emergency_record, new_case
from bot.records.forms import first_stage, form_values, forms_for
from bot.types import ThreadRef, UserRef
from policies.model import Form, FormField

PAT = UserRef("slack", "U0UNKNOWN1", name="Pat Jones", email="pat@example.org")
ANSWERS = {
    "immediate_risk": False, "arose_on": "2026-11-23", "other_agency": "Northshire Police",
    "other_professional": "DS Jane Doe", "other_role": "Detective Sergeant", "category": "thresholds",
    "disputed": "The referral was closed.", "impact": "Exposed to harm.", "desired_change": "A strategy meeting.",
    "discussed_line_manager": True, "discussed_other": False, "child_status": "none", "agency_reference": "NS-1",
    "child_name": CHILD_NAME, "child_dob": "2015-02-03", "child_address": "1 High St",
    "raiser_agency": "Northshire Housing", "raiser_role": "Housing Officer", "raiser_manager": "Alex Green",
}
# The stage from which each shipped form applies (see bot/records/forms.py).
FIRST_STAGE = {("bcssp", "appendix2"): 1, ("medway", "stage3_alert"): 3, ("medway", "mscb_notification"): 4,
               ("gloucestershire", "monitoring"): 3, ("surrey", "sscp_standard_form"): 5}


def case_at(policy, stage: int, resolved: bool = False) -> dict:
    """A case opened on Monday 23 November 2026 and escalated one day at a time to `stage`."""
    case = new_case("ESC-2026-0042", policy, ANSWERS, PAT, ThreadRef("slack", "C1", "1.2"), at(2026, 11, 23))
    case["nudges"] = []
    for day in range(24, 24 + stage - policy.first_stage.number):
        case = workflow.escalate(case, policy, PAT, "Still no meeting.", at(2026, 11, day), None)
    if resolved:
        case = workflow.resolve(case, policy, PAT, "Meeting held.", "Review in a month.", at(2026, 11, 30), None)
    return case


def shipped_forms(all_policies):
    return [(p, f) for p in all_policies.values() for f in p.forms.values()]


def test_the_shipped_forms_are_the_ones_the_rules_describe(all_policies):
    seeds = {(p.id, f.id): first_stage(p, f) for p, f in shipped_forms(all_policies) if p.id in SEED_IDS}
    assert seeds == FIRST_STAGE
    assert all_policies["lincolnshire"].forms == {}


@pytest.mark.parametrize("key", sorted(FIRST_STAGE))
def test_every_field_of_every_shipped_form_is_filled_from_the_case(all_policies, caplog, key):
    policy = all_policies[key[0]]
    form = policy.forms[key[1]]
    case = case_at(policy, policy.last_stage.number, resolved=True)
    with caplog.at_level(logging.WARNING):
        values = form_values(case, policy, form, DIRECTORY)
    assert caplog.records == []
    assert [f.id for f, _ in values] == [f.id for f in form.fields]
    assert [f.id for f, value in values if not value] == []  # a case through every stage fills every field


@pytest.mark.parametrize("key", sorted(FIRST_STAGE))
def test_forms_apply_from_their_stage(all_policies, key):
    policy = all_policies[key[0]]
    number = FIRST_STAGE[key]
    assert key[1] in [f.id for f in forms_for(case_at(policy, number), policy)]
    if number > policy.first_stage.number:
        assert key[1] not in [f.id for f in forms_for(case_at(policy, number - 1), policy)]


def test_lincolnshire_and_immediate_harm_records_have_no_form(all_policies):
    lincs = all_policies["lincolnshire"]
    assert forms_for(case_at(lincs, 4, resolved=True), lincs) == []
    bcssp = all_policies["bcssp"]
    record = emergency_record("ESC-2026-0043", bcssp, PAT, ThreadRef("slack", "C1"), at(2026, 11, 23))
    assert forms_for(record, bcssp) == []
    assert dict((f.id, v) for f, v in form_values(record, bcssp, bcssp.forms["appendix2"]))["name"] == ""


def test_a_partnerships_own_fields_are_filled_as_its_policy_file_says(all_policies):
    """Field ids are the partnership's own; what fills each is `fill` (and `stage`, `question`) in its file."""
    policy = all_policies["surrey"]
    form = Form("own", "Our own form", "Us", "local", (
        FormField("kind", "Nature of the concern", fill="answer", question="category"),
        FormField("seen", "Spoken to your manager?", fill="answer", question="discussed_line_manager"),
        FormField("born", "Born", fill="answer", question="child_dob"),
        FormField("when_two", "Stage two", fill="stage_dates", stage=2),
        FormField("first", "First stage", fill="stage_outcome"),
        FormField("signed", "Signature", fill="by_hand"),
    ), from_stage=1)
    values = dict((f.id, v) for f, v in form_values(case_at(policy, 2), policy, form))
    assert values == {
        "kind": policy.question("category").option("thresholds").label,
        "seen": "Yes", "born": "3 February 2015",
        "when_two": "From 24 November 2026, in progress (due by 26 November 2026)",
        "first": "Not resolved; referred to Stage 2 on 24 November 2026. Reason: Still no meeting.",
        "signed": "",
    }


def test_when_a_form_applies_is_its_from_stage(all_policies):
    policy = all_policies["surrey"]
    late = Form("late", "Late form", "Us", "local", (FormField("ref", "Ref", fill="reference"),), from_stage=3)
    policy = replace(policy, forms={"late": late})
    assert forms_for(case_at(policy, 2), policy) == []
    assert forms_for(case_at(policy, 3), policy) == [late]


def test_without_a_directory_people_are_as_they_described_themselves(all_policies):
    policy = all_policies["medway"]
    values = {f.id: v for f, v in form_values(case_at(policy, 3), policy, policy.forms["stage3_alert"])}
    assert values["practitioner"] == "Pat Jones, Housing Officer"
    assert values["service"] == "Northshire Housing"
    assert values["line_manager"] == "Alex Green"
    assert values["to"] == "Head / director of service, Northshire Housing"
    assert values["from"] == "Pat Jones, Housing Officer, Northshire Housing"
    names = {f.id: v for f, v in form_values(case_at(policy, 3), all_policies["bcssp"],
                                               all_policies["bcssp"].forms["appendix2"])}
    assert names["worker_names"] == "1. Pat Jones\n2. DS Jane Doe"
    assert names["worker_contact_details"] == "1. pat@example.org\n2. not recorded"

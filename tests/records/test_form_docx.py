"""Each procedure's form filled from a case driven through the engine, read back by opening the DOCX.

Cases open on Monday 23 November 2026. Stage due dates are counted by hand in working days from the day after the
stage starts (BCSSP: 2, then 3, 4, 5; Medway: 5 each; GSCP: 5, 5, 5, 10; Surrey: 2 each).
"""

from __future__ import annotations

from conftest import CHILD_DOB, CHILD_NAME
from records_kit import (
    DAVID,
    DIRECTORY,
    FOLLOW_UP,
    LENA,
    OUTCOME,
    REASON,
    Desk,
    at,
    fields,
    grid,
    opened,
    text_of,
    walk,
)

from bot.records.docx_record import chronology_docx, form_docx, record_docx
from bot.records.forms import forms_for

DOB = "3 February 2015"  # CHILD_DOB, as the form shows it
assert CHILD_DOB == "2015-02-03"


async def test_bcssp_appendix2_every_field_stage_by_stage(store, all_policies):
    policy = all_policies["bcssp"]
    desk = Desk(store, {"bcssp": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    await walk(desk, ref, 3, at(2026, 11, 23))  # Stage 2 on Tue 24, Stage 3 on Wed 25
    await desk.resolve(DAVID, ref, at(2026, 11, 27))
    case = await desk.case(ref)
    form = policy.forms["appendix2"]
    content = form_docx(case, policy, form, DIRECTORY)
    got = fields(content)

    assert got[("Case Details", "Date of Original Disagreement")] == "23 November 2026"
    assert got[("Case Details", "Child/Adult Name")] == CHILD_NAME
    assert got[("Case Details", "Date of Birth")] == DOB
    assert got[("Case Details", "Address")] == "12 Acacia Avenue, Northtown"
    workers = "Agencies/ Workers involved"
    assert got[(workers, "Names")].splitlines()[:4] == ["1. Jordan Ellis", "2. Chris Walker", "3. Lena Okafor",
                                                        "4. David Hughes"]
    assert got[(workers, "Designation")].splitlines()[:2] == ["1. Social Worker", "2. Detective Constable"]
    assert got[(workers, "Agency")].splitlines()[:2] == ["1. Northshire Children's Services", "2. Northshire Police"]
    assert "2. chris.walker@northshire-police.example.org" in got[(workers, "Contact Details")]
    nature = got[("Nature of Professional Disagreement", "Nature of Professional Disagreement")]
    assert "The referral was closed without a strategy discussion." in nature
    assert "domestic abuse" in nature and "A strategy discussion this week." in nature

    s1, s2, s3 = (f"Attempts to Resolve the Disagreement at Stage {n}" for n in (1, 2, 3))
    assert got[(s1, "Dates")] == "23 November 2026 to 24 November 2026 (due by 25 November 2026)"
    assert got[(s1, "Outcome")] == f"Not resolved; referred to Stage 2 on 24 November 2026. Reason: {REASON}"
    assert got[("Unresolved Dispute and Referral to Stage 2", "Date of Referral")] == "24 November 2026"
    assert got[(s2, "Dates")] == "24 November 2026 to 25 November 2026 (due by 27 November 2026)"
    assert got[(s2, "Outcome")].startswith("Not resolved; referred to Stage 3 on 25 November 2026.")
    assert got[("Unresolved Dispute and Referral to Stage 3", "Date of Referral")] == "25 November 2026"
    assert got[(s3, "Dates")] == "25 November 2026 to 27 November 2026 (due by 1 December 2026)"
    assert got[(s3, "Outcome")] == (f"Resolved on 27 November 2026: {OUTCOME}\n"
                                    f"Follow-up of outstanding actions: {FOLLOW_UP}")
    assert got[("Unresolved Dispute and Referral to Stage 4", "Date of Referral")] == ""
    assert got[("Final Outcomes", "Date")] == "27 November 2026"
    panel = got[("Final Outcomes", "Mediation or Dispute Resolution Panel convened?")]
    assert panel.startswith("No: resolved at Stage 3")
    assert OUTCOME in got[("Final Outcomes", "Outcome")]
    assert {label for _, label in got} == {f.label for f in form.fields}  # every field the seed lists is there

    text = text_of(content)
    assert "Registration of use of Escalation Procedure Pro-forma" in text
    assert f"Case reference: {ref}" in text
    assert "Send to: BCSSP Business Manager, securely" in text
    assert "Bath & North East Somerset" in text
    section = opened(content).sections[0]
    assert section.header.paragraphs[0].text.startswith("OFFICIAL-SENSITIVE")
    assert "special category personal data" in section.header.paragraphs[0].text
    assert section.footer.paragraphs[0].text.startswith(f"{ref} - BCSSP - produced by the escalation bot")
    assert CHILD_NAME not in opened(content).core_properties.title  # file metadata carries no child identifiers


async def test_bcssp_appendix2_at_stage1_records_the_initial_disagreement(store, all_policies):
    policy = all_policies["bcssp"]
    desk = Desk(store, {"bcssp": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    case = await desk.case(ref)
    assert [f.id for f in forms_for(case, policy)] == ["appendix2"]
    got = fields(form_docx(case, policy, policy.forms["appendix2"], DIRECTORY))
    assert got[("Attempts to Resolve the Disagreement at Stage 1", "Dates")] == (
        "From 23 November 2026, in progress (due by 25 November 2026)")
    assert got[("Attempts to Resolve the Disagreement at Stage 1", "Outcome")] == "In progress: not yet resolved"
    assert got[("Attempts to Resolve the Disagreement at Stage 2", "Dates")] == ""
    assert got[("Final Outcomes", "Date")] == ""


async def test_medway_stage3_alert_and_stage4_notification(store, all_policies):
    policy = all_policies["medway"]
    desk = Desk(store, {"medway": policy}, at(2026, 11, 23))
    ref = await desk.open_case(child_status="child_protection_plan")
    await walk(desk, ref, 3, at(2026, 11, 23))
    case = await desk.case(ref)
    assert [f.id for f in forms_for(case, policy)] == ["stage3_alert"]
    got = fields(form_docx(case, policy, policy.forms["stage3_alert"], DIRECTORY))
    assert got[("Child", "Name of Child")] == CHILD_NAME
    assert got[("Child", "DOB")] == DOB
    summary = got[("Concern", "Summary of concern(s) remaining from Stage 2")]
    assert "Levels of need/ thresholds: The referral was closed without a strategy discussion." in summary
    assert summary.endswith(f"Remaining from Stage 2: Escalate to Designated Safeguarding Leads/ Service Managers: "
                            f"{REASON}")
    assert got[("Concern", "Requested Action")] == "A strategy discussion this week."
    assert got[("Alert", "Date of Alert")] == "25 November 2026"
    assert got[("Alert", "From")] == "David Hughes, Service Manager, Assessment, Northshire Children's Services"
    assert got[("Alert", "To: Assistant/ Deputy Director")].startswith("Ruth Adeyemi, Head of Children's Social Care")
    assert got[("Alert", "Response expected within 5 working days")] == "By 2 December 2026"
    assert got[("Practitioner", "Practitioner")] == "Jordan Ellis, Social Worker"
    assert got[("Practitioner", "Service")] == "Northshire Children's Services"
    assert got[("Practitioner", "Line Manager")] == "Lena Okafor, Team Manager"
    assert got[("Response", "Response by Assistant/ Deputy Director")] == ""
    assert got[("Resolution", "If not resolved to progress to Stage 4")] == ""

    await desk.escalate(DAVID, ref, at(2026, 11, 30))
    case = await desk.case(ref)
    assert [f.id for f in forms_for(case, policy)] == ["stage3_alert", "mscb_notification"]
    got = fields(form_docx(case, policy, policy.forms["stage3_alert"], DIRECTORY))
    assert got[("Resolution", "If not resolved to progress to Stage 4")] == f"Yes: {REASON}"
    assert got[("Resolution", "Date")] == "30 November 2026"
    assert got[("Response", "Date")] == "30 November 2026"
    notification = fields(form_docx(case, policy, policy.forms["mscb_notification"], DIRECTORY))
    assert notification[("Child", "Name of Child")] == CHILD_NAME
    history = notification[("", "Stages 1-3: dates, who was involved and responses")].splitlines()
    assert len(history) == 4 and history[0].startswith("Stage 1: Escalate to Team Manager: 23 November 2026")
    assert notification[("", "Case reference")] == f"{ref} (raising agency's reference: NS-4471)"


async def test_gloucestershire_monitoring_form_details_the_escalation_and_actions(store, all_policies):
    policy = all_policies["gloucestershire"]
    desk = Desk(store, {"gloucestershire": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    await desk.escalate(LENA, ref, at(2026, 11, 24))
    await desk.act(LENA, "extend", ref, "2026-12-10", "Lena Okafor, Team Manager", "Priya Nair, DS",
                   "Key worker on leave", when=at(2026, 11, 25))
    case = await desk.case(ref)
    assert forms_for(case, policy) == []  # the monitoring form is for Stage 3 (GSCP 2.3 f)
    await desk.escalate(LENA, ref, at(2026, 11, 26))
    case = await desk.case(ref)
    assert [f.id for f in forms_for(case, policy)] == ["monitoring"]
    content = form_docx(case, policy, policy.forms["monitoring"], DIRECTORY)
    got = fields(content)
    assert got[("", "Case reference")].startswith(ref)
    assert got[("", "Date the disagreement arose")] == "23 November 2026"
    agencies = got[("", "Agencies and professionals involved")]
    assert agencies.startswith("Raised by: Jordan Ellis, Social Worker, Northshire Children's Services")
    assert "Disagreement with: Chris Walker, Detective Constable, Northshire Police" in agencies
    escalation = got[("", "The escalation: stages reached and dates")].splitlines()
    assert escalation == [
        "Stage 1: Discuss with the other worker: 23 November 2026 to 24 November 2026 (due by 30 November 2026)",
        "Stage 2: Escalate to Line Manager: 24 November 2026 to 26 November 2026 (due by 10 December 2026; "
        "extended from 1 December 2026 by agreement of both agencies)",
        "Stage 3: Escalate to Senior Managers: From 26 November 2026, in progress (due by 3 December 2026)",
        "Open at Stage 3: Escalate to Senior Managers.",
    ]
    actions = got[("", "Actions taken to date to resolve it")]
    assert ("Discussed before the case was opened, with own line manager: Yes; with the other professional: "
            "Yes.") in actions
    assert ("Stage 2: Escalate to Line Manager: timescale extended from 1 December 2026 to 10 December 2026, agreed by "
            "Lena Okafor, Team Manager and Priya Nair, DS: Key worker on leave") in actions
    assert "Notify GSCP Safeguarding Support Unit (GCSP@gloucestershire.gov.uk) (Stage 3): not yet recorded" in actions
    assert "derived from that description" in text_of(content)  # the form's own note


async def test_surrey_stage5_form_says_the_procedure_lists_no_fields(store, all_policies):
    policy = all_policies["surrey"]
    desk = Desk(store, {"surrey": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    await walk(desk, ref, 4, at(2026, 11, 23))
    assert forms_for(await desk.case(ref), policy) == []
    await desk.escalate(DAVID, ref, at(2026, 11, 27))
    case = await desk.case(ref)
    assert [f.id for f in forms_for(case, policy)] == ["sscp_standard_form"]
    content = form_docx(case, policy, policy.forms["sscp_standard_form"], DIRECTORY)
    text = text_of(content)
    assert "Escalation of a Safeguarding Concern to the SSCP - Standard Form" in text
    assert ("Note: The procedure names this standard form but does not list its fields; this record carries the "
            "case record's fields.") in text
    assert "Send to: SSCP Partnership Development Manager (SSCP 6.4 Stage 5)" in text
    got = fields(content)
    assert got[("Child", "Child's name")] == CHILD_NAME
    assert got[("Child", "Child's date of birth")] == DOB
    history = got[("", "Stages 1-4: dates, who was involved and outcomes")].splitlines()
    assert [line.split(":")[0] for line in history] == [f"Stage {n}" for n in range(1, 6)]
    assert "Involved: Jordan Ellis, Lena Okafor." in history[0]
    assert got[("", "What the referring agency asks the SSCP to resolve")] == "A strategy discussion this week."


async def test_lincolnshire_has_no_form_its_record_is_the_case_record(store, all_policies):
    policy = all_policies["lincolnshire"]
    desk = Desk(store, {"lincolnshire": policy}, at(2026, 11, 23))
    ref = await desk.open_case()
    await desk.escalate(LENA, ref, at(2026, 11, 24))
    await desk.resolve(LENA, ref, at(2026, 11, 25))
    case = await desk.case(ref)
    assert forms_for(case, policy) == []
    content = record_docx(case, policy, DIRECTORY)
    got = fields(content)
    assert got[("The child", "Name")] == CHILD_NAME
    assert got[("The child", "Date of birth")] == DOB
    assert got[("Summary", "Status")] == "Resolved"
    assert got[("Outcome", "Written outcome agreed between the parties")] == OUTCOME
    assert got[("Outcome", "How outstanding actions will be followed up")] == FOLLOW_UP
    assert got[("The disagreement", "Other agency")] == "Northshire Police"
    stages = grid(content, ("Stage", "Started", "Due", "Ended", "Outcome", "Reason or outcome"))
    assert stages == [
        ["Step 1: Discussion amongst frontline professionals", "23 November 2026", "", "24 November 2026",
         "escalated", REASON],
        ["Step 2: Discussion with line managers/supervisors", "24 November 2026", "", "25 November 2026",
         "resolved", OUTCOME],
    ]
    rows = grid(content, ("Date", "Who", "What"))
    assert [r[0] for r in rows] == ["23 Nov 2026 10:00", "24 Nov 2026 10:00", "25 Nov 2026 10:00"]
    assert "this case record is the record" in text_of(content)
    chronology = grid(chronology_docx(case, policy, DIRECTORY), ("Date", "Who", "What"))
    assert chronology == rows


async def test_an_immediate_harm_record_has_a_case_record_and_no_form(store, all_policies):
    policy = all_policies["bcssp"]
    desk = Desk(store, {"bcssp": policy}, at(2026, 11, 23))
    ref = await desk.open_case(immediate_risk="yes")
    case = await desk.case(ref)
    assert case["status"] == "immediate_harm" and forms_for(case, policy) == []
    content = record_docx(case, policy, DIRECTORY)
    assert fields(content)[("Summary", "Status")] == "Immediate-harm route given"
    assert "No child details were recorded." in text_of(content)
    what = grid(content, ("Date", "Who", "What"))[0][2]
    assert what.startswith("The immediate-harm route was given")

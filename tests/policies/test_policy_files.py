"""The shipped policy files load and encode their seed procedures (shared/seeds/000-004); checks that hold for every
file run over whatever the policy folder holds (a partnership's own file too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import POLICY_FOLDER, POLICY_IDS, SEED_IDS

from policies.loader import POLICY_DIR, REQUIRED_QUESTIONS, load_policies, load_policy
from policies.model import GENERIC_NEXT_CONTACT, Policy


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    return load_policies(POLICY_FOLDER)


def stages(p: Policy) -> list[tuple[int, str, int | None, str, str, str]]:
    return [(s.number, s.name, s.working_days, s.counts_from, s.raiser_tier, s.other_tier) for s in p.stages]


def notes(p: Policy) -> dict[str, tuple[tuple[int, ...], str, str, tuple[str, ...]]]:
    return {n.id: (n.stages, n.on, n.form, n.when_child_status) for n in p.notifications}


def labels(p: Policy, form: str) -> list[tuple[str, str]]:
    return [(f.section, f.label) for f in p.forms[form].fields]


# --- all files -----------------------------------------------------------------------------------------------


def test_every_policy_file_loads_under_its_id_and_the_five_are_there(policies: dict[str, Policy]) -> None:
    assert set(SEED_IDS) <= set(policies)
    assert sorted(policies) == sorted(path.stem for path in POLICY_FOLDER.glob("*.toml"))
    for pid, p in policies.items():
        assert p.id == pid
        assert Path(p.path).name == f"{pid}.toml"
    assert {policies[pid].region for pid in SEED_IDS} == {"ENG"}  # all five seeds are English partnerships


def test_load_policies_keeps_requested_ids_in_order() -> None:
    picked = load_policies(POLICY_DIR, ids=("medway", "bcssp"))
    assert list(picked) == ["medway", "bcssp"]


@pytest.mark.parametrize("pid", POLICY_IDS)
def test_required_questions_and_child_details(policies: dict[str, Policy], pid: str) -> None:
    p = policies[pid]
    assert p.questions[0].id == "immediate_risk"
    for qid, kind in REQUIRED_QUESTIONS.items():
        q = p.question(qid)
        assert q is not None and q.kind == kind, qid
    for qid in ("child_name", "child_dob"):
        q = p.question(qid)
        assert q is not None and q.sensitive and not q.required
    status = p.question("child_status")
    assert status is not None
    assert {"child_protection_plan", "looked_after", "none"} <= {o.id for o in status.options}
    category = p.question("category")
    assert category is not None
    assert [o.id for o in category.options] == [c.id for c in p.categories]


@pytest.mark.parametrize("pid", POLICY_IDS)
def test_every_rule_has_a_cite_and_a_comment(policies: dict[str, Policy], pid: str) -> None:
    p = policies[pid]
    cited = [
        p.immediate_harm,
        p.extension,
        p.final_stage,
        *p.stages,
        *p.notifications,
        *p.categories,
        *p.questions,
        *p.forms.values(),
    ]
    cited += [x for x in (p.overall, p.pre_stage) if x is not None]
    cited += [p.next_contact] if p.next_contact != GENERIC_NEXT_CONTACT else []
    assert all(x.cite.startswith(p.short_name) for x in cited)
    text = (POLICY_FOLDER / f"{pid}.toml").read_text(encoding="utf-8")
    for header in ("[immediate_harm]", "[extension]", "[final_stage]"):
        before = text.split(header, 1)[1].lstrip("\n")
        assert before.startswith("#"), f"{pid}: no source comment under {header}"


@pytest.mark.parametrize("pid", POLICY_IDS)
def test_load_policy_reads_one_file(pid: str) -> None:
    assert load_policy(POLICY_FOLDER / f"{pid}.toml").id == pid


# --- BCSSP (seed 001) ----------------------------------------------------------------------------------------


def test_bcssp(policies: dict[str, Policy]) -> None:
    p = policies["bcssp"]
    assert p.short_name == "BCSSP"
    assert p.scope == ("children", "adults")
    assert p.version == "V5"
    assert stages(p) == [
        (1, "Identifying the concern worker to worker", 2, "disagreement", "practitioner", "practitioner"),
        (2, "Discussing the concern Manager to Manager", 3, "stage_start", "line_manager", "line_manager"),
        (
            3,
            "Raising the concern senior manager to senior manager",
            4,
            "stage_start",
            "senior_manager",
            "senior_manager",
        ),
        (4, "Refer concern to BCSSP", 5, "stage_start", "senior_manager", "partnership"),
    ]
    assert p.overall is not None
    assert (p.overall.working_days, p.overall.until_stage) == (10, 4)
    assert "10 working days" in p.overall.description
    assert "24 hours" in p.immediate_harm.route
    assert "escalate to an appropriate level" in p.immediate_harm.route
    assert p.extension.allowed is False
    assert "no longer than 10 working days" in p.extension.wording
    assert p.final_stage.binding is True
    assert (
        "The decision reached in mediation or at Dispute Panel is final and binding on all organisations involved."
    ) in p.final_stage.description
    n = notes(p)
    assert n["registration"] == ((2,), "enter", "appendix2", ())
    assert n["resolved_stage2"] == ((2,), "resolve", "appendix2", ())
    assert n["resolved_stage3"] == ((3,), "resolve", "appendix2", ())
    resolved3 = next(x for x in p.notifications if x.id == "resolved_stage3")
    assert resolved3.notify == "BCSSP Business Manager"
    assert "Assistant Director Children and Young People" in resolved3.text
    assert "Director of Adult Social Care" in resolved3.text
    assert {x.notify for x in p.notifications if x.id.startswith(("registration", "resolved_stage2"))} == {
        "BCSSP Business Manager"
    }
    status = p.question("child_status")
    assert status is not None and status.option("adult_at_risk") is not None
    address = p.question("child_address")
    assert address is not None and address.kind == "text" and address.sensitive and not address.required
    assert [c.id for c in p.categories][:3] == ["safeguarding_decision", "self_neglect_decision", "thresholds"]


def test_bcssp_appendix2_fields_in_seed_order(policies: dict[str, Policy]) -> None:
    form = policies["bcssp"].forms["appendix2"]
    assert form.name == "Registration of use of Escalation Procedure Pro-forma"
    assert "BCSSP Business Manager" in form.send_to and "password" in form.send_to
    assert labels(policies["bcssp"], "appendix2") == [
        ("Case Details", "Date of Original Disagreement"),
        ("Case Details", "Child/Adult Name"),
        ("Case Details", "Date of Birth"),
        ("Case Details", "Address"),
        ("Agencies/ Workers involved", "Names"),
        ("Agencies/ Workers involved", "Designation"),
        ("Agencies/ Workers involved", "Agency"),
        ("Agencies/ Workers involved", "Contact Details"),
        ("Nature of Professional Disagreement", "Nature of Professional Disagreement"),
        ("Attempts to Resolve the Disagreement at Stage 1", "Dates"),
        ("Attempts to Resolve the Disagreement at Stage 1", "Outcome"),
        ("Unresolved Dispute and Referral to Stage 2", "Date of Referral"),
        ("Attempts to Resolve the Disagreement at Stage 2", "Dates"),
        ("Attempts to Resolve the Disagreement at Stage 2", "Outcome"),
        ("Unresolved Dispute and Referral to Stage 3", "Date of Referral"),
        ("Attempts to Resolve the Disagreement at Stage 3", "Dates"),
        ("Attempts to Resolve the Disagreement at Stage 3", "Outcome"),
        ("Unresolved Dispute and Referral to Stage 4", "Date of Referral"),
        ("Final Outcomes", "Date"),
        ("Final Outcomes", "Mediation or Dispute Resolution Panel convened?"),
        ("Final Outcomes", "Outcome"),
    ]


def test_bcssp_holds_no_personal_contact() -> None:
    text = (POLICY_DIR / "bcssp.toml").read_text(encoding="utf-8").lower()
    assert "kirstie" not in text and "bathnes.gov.uk" not in text and "zywek" not in text


# --- Lincolnshire (seed 002) ---------------------------------------------------------------------------------


def test_lincolnshire(policies: dict[str, Policy]) -> None:
    p = policies["lincolnshire"]
    assert p.short_name == "LSCB"
    assert p.stage_label == "Step"
    assert p.stage_title(1).startswith("Step 1")
    assert p.version == "Version 4, January 2010 (updated 5 May 2010)"
    assert [(s.number, s.working_days, s.raiser_tier, s.other_tier) for s in p.stages] == [
        (1, None, "practitioner", "practitioner"),
        (2, None, "line_manager", "line_manager"),
        (3, None, "senior_manager", "senior_manager"),
        (4, None, "senior_manager", "partnership"),
    ]
    assert p.overall is None and p.pre_stage is None
    assert p.immediate_harm.route.startswith(
        "All staff and agencies are duty bound to take urgent action to escalate matters if immediate safeguarding "
        "issues for a child are evident."
    )
    assert p.extension.allowed is False
    assert "timeframes" in p.extension.wording
    assert (p.final_stage.nature, p.final_stage.binding) == ("case_review_group", False)
    assert "inter agency case review group" in p.final_stage.description
    assert p.notifications == () and p.forms == {}
    assert [c.id for c in p.categories] == [
        "course_of_action",
        "agreed_action_not_completed",
        "plan_inappropriate",
        "case_conference_refused",
    ]
    assert [c.cite for c in p.categories] == [f"LSCB Examples {i}" for i in range(1, 5)]


def test_lincolnshire_liaison_officers(policies: dict[str, Policy]) -> None:
    slo = policies["lincolnshire"].liaison_officers
    assert len(slo) == 30
    assert len({s.agency for s in slo}) == 30
    assert (slo[0].agency, slo[0].role) == ("Adult Safeguarding", "Head of Adult Safeguarding")
    assert (slo[7].agency, slo[7].role) == ("Lincolnshire Police", "Head of PPU")
    # The seed's last two rows have agency and role swapped; the file stores them the right way round.
    assert (slo[28].agency, slo[28].role) == ("West Lindsey District Council", "Cultural Development Team Leader")
    assert (slo[29].agency, slo[29].role) == (
        "North Kesteven District Council",
        "Head of Communities (Lead Officer for Safeguarding Children)",
    )
    assert all("Council" not in s.role for s in slo)


# --- Medway (seed 003) ---------------------------------------------------------------------------------------


def test_medway(policies: dict[str, Policy]) -> None:
    p = policies["medway"]
    assert p.short_name == "MSCB"
    assert p.version == "Version 2, June 2016"
    assert p.pre_stage is not None
    assert p.pre_stage.name == "Professional to professional"
    assert "acceptable to both" in p.pre_stage.action
    assert "clarify thinking and the desired outcome" in p.pre_stage.action
    assert stages(p) == [
        (1, "Escalate to Team Manager", 5, "stage_start", "line_manager", "line_manager"),
        (
            2,
            "Escalate to Designated Safeguarding Leads/ Service Managers",
            5,
            "stage_start",
            "senior_manager",
            "senior_manager",
        ),
        (3, "Escalate to Assistant/ Deputy Directors", 5, "stage_start", "head_of_service", "head_of_service"),
        (4, "Involving the Medway Safeguarding Children Board", None, "stage_start", "senior_manager", "partnership"),
    ]
    assert p.overall is None
    assert "paramount" in p.immediate_harm.route and "assertively and proactively" in p.immediate_harm.route
    assert p.immediate_harm.cite == "MSCB 1"  # the seed has no emergency route: the referral is the product's advice
    assert "police" in p.immediate_harm.guidance and "CADS" in p.immediate_harm.guidance
    assert p.extension.allowed is False
    assert p.extension.wording == "A response is required within 5 working days."
    assert (p.final_stage.nature, p.final_stage.binding) == ("board_learning_review", False)
    n = notes(p)
    assert n["iro_stage1"] == ((1,), "enter", "", ("child_protection_plan",))
    assert n["iro_stage2"] == ((2,), "enter", "", ("child_protection_plan",))
    assert n["stage3_alert"] == ((3,), "enter", "stage3_alert", ())
    assert n["stage3_mscb_copy"] == ((3,), "enter", "stage3_alert", ())
    assert n["mscb_notification"][:2] == ((4,), "enter")
    by_id = {x.id: x for x in p.notifications}
    assert "Assistant Director" in by_id["stage3_alert"].notify
    assert "mscb@medway.gov.uk" in by_id["stage3_mscb_copy"].notify
    assert "Learning Lessons Subgroup Chair" in by_id["mscb_notification"].notify
    assert by_id["mscb_notification"].responsible_tier == "senior_manager"
    assert "Independent Chair" in by_id["mscb_notification"].text
    assert [c.label for c in p.categories] == [
        "Levels of need/ thresholds",
        "Roles and responsibilities",
        "Progressing plans",
        "Communication",
    ]
    desired = p.question("desired_change")
    assert desired is not None and "desired outcome" in desired.prompt


def test_medway_stage3_alert_form_fields_in_seed_order(policies: dict[str, Policy]) -> None:
    p = policies["medway"]
    form = p.forms["stage3_alert"]
    assert form.name == "Stage 3 Escalation Alert Form"
    assert "mscb@medway.gov.uk" in form.send_to
    assert [f.label for f in form.fields] == [
        "Date of Alert",
        "From",
        "To: Assistant/ Deputy Director",
        "Response expected within 5 working days",
        "Name of Child",
        "DOB",
        "Practitioner",
        "Service",
        "Line Manager",
        "Summary of concern(s) remaining from Stage 2",
        "Requested Action",
        "Response by Assistant/ Deputy Director",
        "Date",
        "Resolution of Alert (recorded by Assistant/ Deputy Director)",
        "If not resolved to progress to Stage 4",
        "Date",
    ]
    assert p.forms["mscb_notification"].note  # fields not in the seed: says so


def test_medway_holds_no_named_individuals() -> None:
    text = (POLICY_DIR / "medway.toml").read_text(encoding="utf-8").lower()
    for name in (
        "madden",
        "cogger",
        "visagie",
        "akinyele",
        "featherstone",
        "heppenstall",
        "lesley",
        "ferguson",
        "bullen",
        "tsalong",
        "kosoko",
        "millwood",
        "ex 7302",
    ):
        assert name not in text
    emails = {w.strip(".,;:()\"'") for w in text.split() if "@" in w}
    assert emails == {"mscb@medway.gov.uk"}


# --- Gloucestershire (seed 004) ------------------------------------------------------------------------------


def test_gloucestershire(policies: dict[str, Policy]) -> None:
    p = policies["gloucestershire"]
    assert p.short_name == "GSCP"
    assert "Spring 2025" in p.version
    assert stages(p) == [
        (1, "Discuss with the other worker", 5, "disagreement", "practitioner", "practitioner"),
        (2, "Escalate to Line Manager", 5, "stage_start", "line_manager", "line_manager"),
        (3, "Escalate to Senior Managers", 5, "stage_start", "senior_manager", "senior_manager"),
        (4, "Resolution by GSCP", 10, "stage_start", "senior_manager", "partnership"),
    ]
    assert {s.timescale_note for s in p.stages} == {
        "or a timescale that protects the child from harm (whichever is less)"
    }
    assert p.overall is None
    assert "the designated safeguarding lead in your agency should be informed immediately" in (p.immediate_harm.route)
    assert p.extension.allowed is True
    assert p.extension.wording.startswith("Unless agreed otherwise between both agencies")
    assert p.extension.cite == "GSCP 2.1 d, 2.2 g, 2.3 h"
    assert p.final_stage.nature == "resolution_panel"
    assert p.final_stage.binding is False
    assert "will collectively resolve" in p.final_stage.description
    n = notes(p)
    assert n["iro_stage2"] == ((2,), "enter", "", ("child_protection_plan", "looked_after"))
    assert n["monitoring_form"] == ((3,), "enter", "monitoring", ())
    assert n["gscp_referral"][:2] == ((4,), "enter")
    by_id = {x.id: x for x in p.notifications}
    assert "GCSP@gloucestershire.gov.uk" in by_id["monitoring_form"].notify
    assert "GCSP@gloucestershire.gov.uk" in by_id["gscp_referral"].text
    assert by_id["iro_stage2"].cite == "GSCP 2.2 d"
    assert [c.label for c in p.categories] == [
        "Levels of need (Gloucestershire levels of intervention document)",
        "Roles and responsibilities",
        "The need for action",
        "The need for inaction",
        "Progressing plans and clear communication",
        "Provision of services",
    ]
    impact = p.question("impact")
    desired = p.question("desired_change")
    assert impact is not None and "reasons why the practice is unsafe for children" in impact.prompt
    assert desired is not None and "what would you like to change for the children" in desired.prompt


def test_gloucestershire_monitoring_form(policies: dict[str, Policy]) -> None:
    form = policies["gloucestershire"].forms["monitoring"]
    assert form.name == "Escalation Monitoring Form"
    assert "GCSP@gloucestershire.gov.uk" in form.send_to
    assert form.note  # the seed lists no fields: the file says the fields are derived
    assert [f.id for f in form.fields][-1] == "actions_to_date"


# --- Surrey (seed 000), the exemplar -------------------------------------------------------------------------


def test_surrey(policies: dict[str, Policy]) -> None:
    p = policies["surrey"]
    assert [(s.number, s.working_days, s.counts_from) for s in p.stages] == [
        (1, 2, "disagreement"),
        (2, 2, "stage_start"),
        (3, 2, "stage_start"),
        (4, 2, "stage_start"),
        (5, 2, "stage_start"),
    ]
    assert "C-SPA" in p.immediate_harm.route
    assert p.extension.allowed is False
    assert p.final_stage.binding is False
    assert notes(p) == {"sscp_referral": ((5,), "enter", "sscp_standard_form", ()),
                        "learning_disseminated": ((5,), "resolve", "", ())}
    # 6.4 Stage 5: learning disseminated "within one month of the meeting or review": a clock in months.
    learning = next(n for n in p.notifications if n.id == "learning_disseminated")
    assert (learning.within_months, learning.within_working_days) == (1, None)


"""The keys that let a partnership's file carry its whole procedure (an overall cap to resolution, duties on their own
clocks, form fields filled from the case, closure days, its next-contact wording): each loads as documented, and a
mistake stops loading with one line naming the file and the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from test_policy_validation import SURREY, assert_error, broken, replaced

from bot.dates.timeline import add_months
from bot.dates.workdays import calendar_of
from policies.loader import POLICY_DIR, load_policy
from policies.model import GENERIC_NEXT_CONTACT

CAP = """
[overall]
working_days = 8
{until}
description = "Resolved within 8 working days."
cite = "SSCP 4.7"
"""
FIELD = '{ id = "case_reference", label = "Case reference", fill = "reference" },'
DUTY_CLOCK = "within_working_days = 2\ntext = \"Refer the disagreement"
CALENDAR = '\n[calendar]\nclosure_days = {days}\ncite = "Surrey County Council closure days"\n'


def with_cap(until: str) -> str:
    return replaced("\n[extension]", CAP.format(until=until) + "\n[extension]")


def test_a_cap_runs_to_resolution_or_to_a_stage_never_both(tmp_path: Path) -> None:
    to_resolution = load_policy(broken(tmp_path, with_cap("until_resolution = true"))).overall
    assert to_resolution is not None and to_resolution.runs_at(5) and to_resolution.until_stage is None
    to_stage = load_policy(broken(tmp_path, with_cap("until_stage = 3"))).overall
    assert to_stage is not None and to_stage.runs_at(2) and not to_stage.runs_at(3)
    bcssp = load_policy(POLICY_DIR / "bcssp.toml").overall  # the existing behaviour, unchanged
    assert bcssp is not None and (bcssp.until_stage, bcssp.until_resolution) == (4, False) and not bcssp.runs_at(4)
    both = broken(tmp_path, with_cap("until_stage = 3\nuntil_resolution = true"))
    assert_error(both, "overall.until_stage", "exactly one")
    assert_error(broken(tmp_path, with_cap("")), "overall.until_stage", "until_resolution = true")


def test_a_duty_has_one_clock_each_within_its_range(tmp_path: Path) -> None:
    two = broken(tmp_path, replaced(DUTY_CLOCK, DUTY_CLOCK.replace("\ntext", "\nwithin_hours = 24\ntext")))
    assert_error(two, "notifications[0].within_hours", "one deadline")
    months = broken(tmp_path, replaced(DUTY_CLOCK, DUTY_CLOCK.replace("within_working_days = 2", "within_months = 0")))
    assert_error(months, "notifications[0].within_months", "between 1 and 24")
    hours = load_policy(broken(tmp_path, replaced(DUTY_CLOCK, DUTY_CLOCK.replace("within_working_days = 2",
                                                                                "within_hours = 24"))))
    assert (hours.notifications[0].within_hours, hours.notifications[0].within_working_days) == (24, None)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28) and add_months(date(2026, 12, 15), 2) == date(
        2027, 2, 15)


def test_only_a_harm_duty_may_leave_out_its_stages(tmp_path: Path) -> None:
    harm = load_policy(broken(tmp_path, replaced('stages = [5]\non = "enter"', 'on = "harm"')))
    duty = harm.notifications[0]
    assert duty.stages == () and duty.applies_at(None) and duty.applies_at(3)
    assert_error(broken(tmp_path, replaced('stages = [5]\non = "enter"', 'on = "enter"')),
                 "notifications[0].stages", "is missing")
    assert_error(broken(tmp_path, replaced('on = "enter"', 'on = "leave"')), "notifications[0].on", "harm")


def test_every_form_field_says_what_fills_it(tmp_path: Path) -> None:
    def field(new: str) -> Path:
        return broken(tmp_path, replaced(FIELD, new))

    assert_error(field('{ id = "case_reference", label = "Case reference" },'),
                 "forms.sscp_standard_form.fields[0].fill", "is missing")
    assert_error(field('{ id = "case_reference", label = "Case reference", fill = "shoe_size" },'),
                 "forms.sscp_standard_form.fields[0].fill", "must be one of")
    assert_error(field('{ id = "case_reference", label = "Case reference", fill = "reference", stage = 2 },'),
                 "forms.sscp_standard_form.fields[0].stage", "does not read a stage")
    assert_error(field('{ id = "case_reference", label = "Case reference", fill = "answer" },'),
                 "forms.sscp_standard_form.fields[0].question", "is missing")
    assert_error(field('{ id = "case_reference", label = "Case reference", fill = "answer", question = "shoe" },'),
                 "forms.sscp_standard_form.fields[0].question", "no question 'shoe'")
    assert_error(field('{ id = "case_reference", label = "Case reference", fill = "stage_dates", stage = 9 },'),
                 "forms.sscp_standard_form.fields[0].stage", "no stage 9")
    late = broken(tmp_path, replaced('cite = "SSCP 6.4 Stage 5"\nnote', 'cite = "SSCP 6.4 Stage 5"\nfrom_stage = 7\n'
                                                                    'note'))
    assert_error(late, "forms.sscp_standard_form.from_stage", "no stage 7")
    own = load_policy(field('{ id = "ours", label = "Ours", fill = "answer", question = "agency_reference" },'))
    assert own.forms["sscp_standard_form"].fields[0].question == "agency_reference"


def test_closure_days_are_not_working_days(tmp_path: Path) -> None:
    closed = load_policy(broken(tmp_path, SURREY + CALENDAR.format(days='[2026-12-29, "2026-12-30"]')))
    assert closed.closure_days == (date(2026, 12, 29), date(2026, 12, 30))
    calendar = calendar_of(closed)
    # 2 working days from Thursday 24 December 2026 in England is Wednesday 30 December; with the 29th and 30th
    # closed, Thursday 31 December counts, Friday 1 January (New Year's Day) does not: Monday 4 January 2027.
    assert calendar.add_working_days(date(2026, 12, 24), 2) == date(2027, 1, 4)
    assert calendar.holiday_name(date(2026, 12, 29)) == "Local closure day"
    assert calendar_of(load_policy(POLICY_DIR / "surrey.toml")).add_working_days(date(2026, 12, 24), 2) == date(
        2026, 12, 30)
    assert_error(broken(tmp_path, SURREY + CALENDAR.format(days='["29/12/2026"]')), "calendar.closure_days",
                 "not a date")
    assert_error(broken(tmp_path, SURREY + "\n[calendar]\nclosure_days = [2026-12-29]\n"), "calendar.cite",
                 "is missing")
    assert_error(broken(tmp_path, SURREY + CALENDAR.format(days="[2026-12-29]") + "closed = true\n"),
                 "calendar.closed", "is not a field this format knows")


def test_next_contact_wording_comes_from_the_file(tmp_path: Path) -> None:
    surrey = load_policy(POLICY_DIR / "surrey.toml").next_contact
    assert (surrey.duty, surrey.cite) == ("every agency has a duty to give the next contact at once", "SSCP 6.3")
    assert load_policy(POLICY_DIR / "medway.toml").next_contact == GENERIC_NEXT_CONTACT  # the seed states none
    assert_error(broken(tmp_path, replaced('duty = "every agency has a duty to give the next contact at once"\n', "")),
                 "next_contact.duty", "is missing")


def test_liaison_officers_come_with_what_the_procedure_calls_them(tmp_path: Path) -> None:
    """[liaison] is only the procedure's words for its liaison officers; whom a stage contacts is the stage's
    (raiser_contact / other_contact = "slo"), so a stage naming them, like the table, needs those words."""
    lincolnshire = (POLICY_DIR / "lincolnshire.toml").read_text(encoding="utf-8")
    lscb = load_policy(POLICY_DIR / "lincolnshire.toml")
    liaison = lscb.liaison
    assert liaison is not None and (liaison.title, liaison.abbreviation, liaison.cite) == (
        "Senior Liaison Officer", "SLO", "LSCB SLO table")
    assert lscb.contact_label("slo") == "Senior Liaison Officer (SLO)"
    assert lscb.contact_label("iro") == "Independent Reviewing Officer (IRO)"  # the product's words for the others
    start = lincolnshire.index("[liaison]\n")
    without = lincolnshire[:start] + lincolnshire[lincolnshire.index("\n# --- Senior Liaison Officers"):]
    assert_error(broken(tmp_path, without, "lincolnshire.toml"), "liaison", "[[liaison_officers]] needs [liaison]")
    no_table = without[:without.index("\n# --- Senior Liaison Officers")] + "\n[[questions]]" + without.split(
        "\n[[questions]]", 1)[1]
    assert_error(broken(tmp_path, no_table, "lincolnshire.toml"), "stages[2].raiser_contact", "add [liaison]")
    # Who is contacted is no longer [liaison]'s to say: a tier there is an unknown key.
    assert_error(broken(tmp_path, replaced('abbreviation = "SLO"\n', 'abbreviation = "SLO"\ntier = "senior_manager"\n',
                                           lincolnshire), "lincolnshire.toml"), "liaison.tier", "not a field")


def test_only_a_binding_final_stage_has_words_for_its_decision(tmp_path: Path) -> None:
    assert load_policy(POLICY_DIR / "bcssp.toml").final_stage.decision == (
        "final and binding on all organisations involved")  # Appendix 1
    unbound = broken(tmp_path, replaced("binding = false\n", 'binding = false\ndecision = "final"\n'))
    assert_error(unbound, "final_stage.decision", "only a binding final stage")

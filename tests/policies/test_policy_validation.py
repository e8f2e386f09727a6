"""A malformed or inconsistent policy file stops loading with one line naming the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import POLICY_FOLDER, POLICY_IDS

from policies.loader import POLICY_DIR, load_policies, load_policy
from policies.reader import PolicyError

SURREY = (POLICY_DIR / "surrey.toml").read_text(encoding="utf-8")
STAGE1_CLOCK = 'working_days = 2\ncounts_from = "disagreement"'


def replaced(old: str, new: str, text: str = SURREY, count: int = 1) -> str:
    """The text with `old` replaced; fails loudly if `old` is not there (so a test cannot pass vacuously)."""
    assert old in text, f"fixture text not found: {old!r}"
    return text.replace(old, new, count)


def question_block(qid: str, text: str = SURREY) -> str:
    """The `[[questions]]` table with this id, up to (not including) the next table header."""
    start = text.index(f'[[questions]]\nid = "{qid}"')
    end = text.find("\n[[", start + 1)
    return text[start:] if end == -1 else text[start : end + 1]


def broken(tmp_path: Path, text: str, name: str = "surrey.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error(path: Path) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return info.value


def assert_error(path: Path, field: str, *words: str) -> PolicyError:
    err = error(path)
    message = str(err)
    assert message.startswith(f"{path}: "), message
    assert err.field == field, message
    assert f": {field}: " in message, message
    for word in words:
        assert word in message, message
    assert "\n" not in message
    return err


def test_the_unbroken_copy_loads(tmp_path: Path) -> None:
    assert load_policy(broken(tmp_path, SURREY)).id == "surrey"


def test_invalid_toml(tmp_path: Path) -> None:
    path = broken(tmp_path, SURREY + "\nthis is = = not toml\n")
    err = error(path)
    assert str(err).startswith(f"{path}: is not valid TOML")


def test_missing_file(tmp_path: Path) -> None:
    err = error(tmp_path / "nowhere.toml")
    assert "nowhere.toml" in str(err) and "file not found" in str(err)


def test_missing_required_field(tmp_path: Path) -> None:
    path = broken(tmp_path, replaced('short_name = "SSCP"\n', ""))
    assert_error(path, "short_name", "is missing")


def test_missing_required_table(tmp_path: Path) -> None:
    text = replaced("[extension]\n", "[extension_typo]\n")
    assert_error(broken(tmp_path, text), "extension", "is missing")


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    text = replaced('counts_from = "disagreement"\n', 'counts_from = "disagreement"\ntimescale_notes = "typo"\n')
    assert_error(broken(tmp_path, text), "stages[0].timescale_notes", "is not a field this format knows")


def test_unknown_top_level_field_is_refused(tmp_path: Path) -> None:
    text = replaced('region = "ENG"\n', 'region = "ENG"\nregoin = "ENG"\n')
    assert_error(broken(tmp_path, text), "regoin", "is not a field this format knows")


def test_wrong_type_number(tmp_path: Path) -> None:
    text = replaced(STAGE1_CLOCK, STAGE1_CLOCK.replace("2", '"two"'))
    assert_error(broken(tmp_path, text), "stages[0].working_days", "must be a whole number")


def test_wrong_type_bool(tmp_path: Path) -> None:
    text = replaced("binding = false", 'binding = "no"')
    assert_error(broken(tmp_path, text), "final_stage.binding", "must be true or false")


def test_wrong_type_list(tmp_path: Path) -> None:
    text = replaced('scope = ["children"]', 'scope = "children"')
    assert_error(broken(tmp_path, text), "scope", "must be a list of text strings")


def test_working_days_out_of_range(tmp_path: Path) -> None:
    text = replaced(STAGE1_CLOCK, STAGE1_CLOCK.replace("2", "0"))
    assert_error(broken(tmp_path, text), "stages[0].working_days", "must be between 1 and 60 (found 0)")


def test_stage_with_both_working_days_and_no_timescale(tmp_path: Path) -> None:
    text = replaced('counts_from = "disagreement"\n', 'counts_from = "disagreement"\nno_timescale = true\n')
    assert_error(broken(tmp_path, text), "stages[0].working_days", "exactly one")


def test_stage_with_neither_working_days_nor_no_timescale(tmp_path: Path) -> None:
    text = replaced(STAGE1_CLOCK + "\n", "")
    assert_error(broken(tmp_path, text), "stages[0].working_days", "exactly one")


def test_gap_in_stage_numbering(tmp_path: Path) -> None:
    text = replaced("number = 5\n", "number = 6\n")
    assert_error(broken(tmp_path, text), "stages", "without gaps", "[1, 2, 3, 4, 6]")


def test_overall_cap_naming_a_missing_stage(tmp_path: Path) -> None:
    cap = '\n[overall]\nworking_days = 10\nuntil_stage = 9\ndescription = "cap"\ncite = "SSCP 6.4"\n\n[[stages]]\n'
    text = replaced("\n[[stages]]\n", cap)
    assert_error(broken(tmp_path, text), "overall.until_stage", "there is no stage 9")


def test_notification_naming_a_missing_stage(tmp_path: Path) -> None:
    text = replaced("stages = [5]", "stages = [9]")
    assert_error(broken(tmp_path, text), "notifications[0].stages", "there is no stage 9")


def test_notification_naming_a_missing_form(tmp_path: Path) -> None:
    text = replaced('form = "sscp_standard_form"', 'form = "no_such_form"')
    assert_error(broken(tmp_path, text), "notifications[0].form", "no form 'no_such_form'")


def test_notification_when_child_status_naming_an_unknown_option(tmp_path: Path) -> None:
    text = replaced('form = "sscp_standard_form"\n', 'form = "sscp_standard_form"\nwhen_child_status = ["on_a_plan"]\n')
    assert_error(
        broken(tmp_path, text), "notifications[0].when_child_status", "'on_a_plan' is not a child_status option"
    )


def test_missing_required_question(tmp_path: Path) -> None:
    text = replaced('id = "agency_reference"', 'id = "agency_ref"')
    assert_error(broken(tmp_path, text), "questions", "'agency_reference'", "is missing")


def test_required_question_of_the_wrong_kind(tmp_path: Path) -> None:
    block = question_block("arose_on")
    text = replaced(block, block.replace('kind = "date"', 'kind = "text"').replace("not_future = true\n", ""))
    assert_error(broken(tmp_path, text), "questions.arose_on.kind", "must be 'date'")


def test_immediate_risk_not_first(tmp_path: Path) -> None:
    block = question_block("immediate_risk")
    text = replaced(block, "") + "\n" + block
    assert_error(broken(tmp_path, text), "questions[0].id", "immediate-risk question must come first")


def test_sensitive_question_not_marked_sensitive(tmp_path: Path) -> None:
    block = question_block("child_name")
    text = replaced(block, block.replace("sensitive = true\n", ""))
    assert_error(broken(tmp_path, text), "questions.child_name", "sensitive = true and required = false")


def test_sensitive_question_made_required(tmp_path: Path) -> None:
    block = question_block("child_dob")
    text = replaced(block, block.replace("required = false\n", ""))
    assert_error(broken(tmp_path, text), "questions.child_dob", "sensitive = true and required = false")


def test_child_status_missing_a_required_option(tmp_path: Path) -> None:
    text = replaced('  { id = "looked_after", label = "Looked after" },\n', "")
    assert_error(broken(tmp_path, text), "questions.child_status.options", "'looked_after'")


def test_unknown_region(tmp_path: Path) -> None:
    text = replaced('region = "ENG"', 'region = "XYZ"')
    assert_error(broken(tmp_path, text), "region", "must be one of ENG, WLS, SCT, NIR", "'XYZ'")


def test_unknown_tier(tmp_path: Path) -> None:
    text = replaced('other_tier = "none"', 'other_tier = "director"')
    assert_error(broken(tmp_path, text), "stages[0].other_tier", "'director'")


def test_bad_policy_id(tmp_path: Path) -> None:
    text = replaced('id = "surrey"', 'id = "Surrey County"')
    assert_error(broken(tmp_path, text), "id", "lower-case")


def test_duplicate_question_ids(tmp_path: Path) -> None:
    text = replaced('id = "agency_reference"', 'id = "other_role"')
    assert_error(broken(tmp_path, text), "questions", "'other_role' is used twice")


def test_duplicate_category_ids(tmp_path: Path) -> None:
    text = replaced('id = "working_together"', 'id = "thresholds"')
    assert_error(broken(tmp_path, text), "categories", "'thresholds' is used twice")


def test_duplicate_policy_ids_across_files(tmp_path: Path) -> None:
    broken(tmp_path, SURREY, "a_surrey.toml")
    second = broken(tmp_path, SURREY, "b_surrey.toml")
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    message = str(info.value)
    assert info.value.field == "id"
    assert message.startswith(f"{second}: id: "), message
    assert "'surrey' is already used by" in message and "a_surrey.toml" in message


def test_unknown_policy_id_requested() -> None:
    with pytest.raises(PolicyError) as info:
        load_policies(POLICY_DIR, ids=("nope",))
    message = str(info.value)
    assert "'nope'" in message and "unknown policy id" in message
    assert "surrey" in message and "gloucestershire" in message


def test_directory_without_policies(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    assert "holds no policy files" in str(info.value)


def test_a_broken_file_stops_the_whole_directory(tmp_path: Path) -> None:
    broken(tmp_path, SURREY, "surrey.toml")
    bad = broken(
        tmp_path, replaced('region = "ENG"', 'region = "XYZ"', (POLICY_DIR / "medway.toml").read_text()), "medway.toml"
    )
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    assert str(info.value).startswith(f"{bad}: region: ")


@pytest.mark.parametrize("pid", [pid for pid in POLICY_IDS if pid != "surrey"])
def test_new_files_are_checked_too(tmp_path: Path, pid: str) -> None:
    text = (POLICY_FOLDER / f"{pid}.toml").read_text(encoding="utf-8")
    path = broken(tmp_path, replaced("\nid = ", "\nidd = 1\nid = ", text), f"{pid}.toml")
    assert_error(path, "idd", "is not a field this format knows")


def test_extension_stages_must_exist_and_need_an_allowed_extension(tmp_path: Path) -> None:
    allowed = replaced("allowed = false", "allowed = true\nstages = [1, 9]")
    assert_error(broken(tmp_path, allowed), "extension.stages", "no stage 9")
    refused = replaced("allowed = false", "allowed = false\nstages = [1]")
    assert_error(broken(tmp_path, refused), "extension.stages", "only an allowed extension")


def test_a_stage_without_timescale_cannot_count_from_anything(tmp_path: Path) -> None:
    text = replaced(STAGE1_CLOCK, 'no_timescale = true\ncounts_from = "disagreement"')
    assert_error(broken(tmp_path, text), "stages[0].counts_from", "no clock")


def test_form_field_ids_are_unique(tmp_path: Path) -> None:
    text = replaced('{ id = "date_of_disagreement"', '{ id = "case_reference"')
    assert_error(broken(tmp_path, text), "forms.sscp_standard_form.fields[1].id", "used twice")


def test_day_words_are_off_for_a_childs_date_of_birth_unless_the_file_says_otherwise(tmp_path: Path) -> None:
    loaded = load_policy(broken(tmp_path, SURREY))
    assert {q.id: q.day_words for q in loaded.questions if q.kind == "date"} == {"arose_on": True, "child_dob": False}
    block = question_block("child_dob")
    opened = load_policy(broken(tmp_path, replaced(block, block.replace("not_future = true\n",
                                                                         "not_future = true\nday_words = true\n"))))
    assert next(q for q in opened.questions if q.id == "child_dob").day_words is True


def test_day_words_only_for_a_date_question(tmp_path: Path) -> None:
    block = question_block("other_role")
    text = replaced(block, block.replace("max_length = 200\n", "max_length = 200\nday_words = false\n"))
    assert_error(broken(tmp_path, text), "questions[4].day_words", "only for date questions")


def test_a_stage_contact_must_be_a_directory_contact_kind_on_a_side_that_acts(tmp_path: Path) -> None:
    text = replaced('other_tier = "none"', 'other_tier = "none"\nraiser_contact = "safeguarding_lead"')
    assert load_policy(broken(tmp_path, text)).stages[0].raiser_contact == "safeguarding_lead"
    text = replaced('other_tier = "none"', 'other_tier = "none"\nraiser_contact = "slo"')  # (named by [liaison])
    assert_error(broken(tmp_path, text), "stages[0].raiser_contact", "add [liaison]")
    text = replaced('other_tier = "none"', 'other_tier = "none"\nraiser_contact = "liaison"')
    assert_error(broken(tmp_path, text), "stages[0].raiser_contact", "'liaison'", "slo")
    text = replaced('other_tier = "none"', 'other_tier = "none"\nother_contact = "slo"')
    assert_error(broken(tmp_path, text), "stages[0].other_contact", "nobody acts on this side")


def test_a_quotation_not_in_the_procedures_kept_text_stops_loading(tmp_path: Path) -> None:
    """With the procedure's text kept as sources/<id>.txt beside the file, a misquotation is refused at start-up."""
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "surrey.txt").write_text((POLICY_DIR / "sources" / "surrey.txt").read_text("utf-8"),
                                                     encoding="utf-8")
    assert load_policy(broken(tmp_path, SURREY)).id == "surrey"
    text = replaced('wording = "Resolution should be sought', 'wording = "Resolution must be sought')
    assert_error(broken(tmp_path, text), "extension.wording", "not in the procedure's text", "Resolution must")

"""Only the procedure's own words are shown as its words: every quotation in every policy file that has its
procedure's text beside it (policies/sources/<id>.txt; whatever files there are, BOT_POLICY_DIR honoured) is found in
that text. The five seeds must keep theirs. A partnership's own file without one loads (the loader checks only what it
can), and is skipped here: its quotations cannot be verified until its text is added."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import POLICY_FOLDER, SEED_IDS

from policies.loader import POLICY_DIR, load_policy
from policies.quotes import found_in, misquoted, normalise, source_path

POLICY_FILES = sorted(POLICY_FOLDER.glob("*.toml"))


def test_there_are_policy_files_to_check() -> None:
    assert POLICY_FILES, "no policy files found"


@pytest.mark.parametrize("seed", SEED_IDS)
def test_each_seed_keeps_its_procedures_text(seed: str) -> None:
    policy = load_policy(POLICY_DIR / f"{seed}.toml")
    source = source_path(policy, POLICY_DIR)
    assert source.is_file(), f"{seed}.toml: keep the procedure's published text as {source.relative_to(POLICY_DIR)}"
    assert normalise(source.read_text(encoding="utf-8")), f"{source} is empty"


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.stem)
def test_every_quotation_is_in_the_procedures_text(path: Path) -> None:
    policy = load_policy(path)
    source = source_path(policy, path.parent)
    if not source.is_file():
        assert policy.id not in SEED_IDS, f"{path.name}: the seed's text is missing ({source})"
        pytest.skip(f"{path.name}: no sources/{policy.id}.txt beside it, so its quotations cannot be checked")
    assert misquoted(policy, source.read_text(encoding="utf-8")) == []


def test_a_sentence_of_our_own_is_caught(all_policies) -> None:
    policy = all_policies["lincolnshire"]
    text = source_path(policy, POLICY_DIR).read_text(encoding="utf-8")
    own = dataclasses.replace(policy.extension, wording="This procedure sets no timescales for its steps.")
    problems = misquoted(dataclasses.replace(policy, extension=own), text)
    assert problems == ["extension.wording: not in the procedure's text: 'This procedure sets no timescales for "
                        "its steps.'"]


def test_a_quotation_inside_any_text_is_checked(all_policies) -> None:
    policy = all_policies["surrey"]
    text = source_path(policy, POLICY_DIR).read_text(encoding="utf-8")
    stage = policy.stages[1]
    real = dataclasses.replace(stage, action='Speak to them: "All disputes should be resolved in a timely way".')
    made_up = dataclasses.replace(stage, action='Speak to them: "Disputes must be resolved within a day".')
    assert misquoted(dataclasses.replace(policy, stages=(policy.stages[0], real, *policy.stages[2:])), text) == []
    problems = misquoted(dataclasses.replace(policy, stages=(policy.stages[0], made_up, *policy.stages[2:])), text)
    assert problems == ["stages[1].action: not in the procedure's text: 'Disputes must be resolved within a day'"]


def test_only_whitespace_and_quotation_marks_are_forgiven() -> None:
    source = normalise("It said \u201cact now\u201d,\n  and   the  child\u2019s plan was agreed.")
    assert found_in('It said "act now", and the child\'s plan was agreed.', source)
    assert found_in("the  child's\nplan", source)
    assert not found_in("the childs plan", source)  # a letter left out is not the procedure's words
    assert not found_in("The child's plan", source)  # nor is a capital the procedure does not have


def test_words_left_out_are_marked_and_the_rest_found_in_order() -> None:
    source = normalise("Stage one comes first. Then stage two follows. Finally stage three ends it.")
    assert found_in("Stage one comes first. ... Finally stage three ends it.", source)
    assert found_in("Stage one comes first\u2026 stage three", source)
    assert not found_in("Finally stage three ends it. ... Stage one comes first.", source)  # not in that order


def test_the_refusal_to_extend_quotes_only_the_procedures_words(all_policies) -> None:
    from bot.cases.workflow import extension_refused

    checked = [p for p in all_policies.values() if source_path(p, POLICY_FOLDER).is_file()]
    assert set(SEED_IDS) <= {p.id for p in checked}
    for policy in checked:  # (a file without its procedure's text: nothing to check the words against)
        text = normalise(source_path(policy, POLICY_FOLDER).read_text(encoding="utf-8"))
        for stage in policy.stages:
            if policy.extension.allows(stage.number):
                continue
            said = extension_refused(policy, stage.number)
            passages = re.findall(r'"([^"]+)"', said)
            assert passages or policy.extension.allowed, f"{policy.id}: a refusal gives the procedure's words"
            for passage in passages:
                assert found_in(passage, text), f"{policy.id} stage {stage.number}: {passage!r}"


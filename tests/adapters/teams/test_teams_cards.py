"""Adaptive Cards rendered from the neutral question data (no server needed)."""

from __future__ import annotations

import pytest
from conftest import POLICY_IDS
from teams_server import inputs

from adapters.teams import cards
from bot.config import ConfigError, read_settings
from bot.conversation.forms import Forms
from bot.types import Reply
from dialogs.intake import ordered_questions


def test_with_several_procedures_the_start_card_asks_the_partnership_first(all_policies):
    start = Forms(all_policies).start
    card = cards.form_card(start, "c" * 32)
    (policy, risk) = inputs(card)
    assert policy["id"] == "policy" and {c["value"] for c in policy["choices"]} == set(all_policies)
    assert risk["id"] == "immediate_risk" and risk["style"] == "expanded"
    marked = cards.form_card(start, "c" * 32, {"immediate_risk": "maybe"},
                             {"policy": "Please choose the partnership."})
    texts = [b.get("text") for b in marked["body"]]
    assert "⚠ Please choose the partnership." in texts


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_every_procedure_renders_its_own_questions_with_child_details_apart(all_policies, policy_id):
    policy = all_policies[policy_id]
    card = cards.form_card(Forms(all_policies).intake(policy, False), "d" * 32)
    ids = [i["id"] for i in inputs(card)]
    assert ids == [q.id for q in ordered_questions(policy) if q.id != "immediate_risk"]
    (container,) = [b for b in card["body"] if b.get("type") == "Container"]
    assert [i["id"] for i in inputs({"body": container["items"]})] == [q.id for q in policy.questions if q.sensitive]
    required = {i["id"] for i in inputs(card) if i["isRequired"]}
    assert required == {q.id for q in policy.questions if q.required and q.id != "immediate_risk"}


def test_a_case_message_mentions_and_offers_only_its_actions():
    reply = Reply("ESC-2026-0001: due tomorrow.\nWho must act: Lena Okafor.", kind="nudge",
                  case_ref="ESC-2026-0001", actions=("resolve", "extend"), stage=2)
    card = cards.message_card(reply, [("29:lena", "Lena Okafor")])
    assert card["body"][0]["text"] == "<at>Lena Okafor</at>"
    assert [b["text"] for b in card["body"][1:]] == ["ESC-2026-0001: due tomorrow.", "Who must act: Lena Okafor."]
    assert [a["data"] for a in card["actions"]] == [{"_action": "resolve", "ref": "ESC-2026-0001", "stage": 2},
                                                   {"_action": "extend", "ref": "ESC-2026-0001", "stage": 2}]


def test_incomplete_microsoft_app_settings_stop_start_up_with_one_line():
    with pytest.raises(ConfigError, match="MICROSOFT_APP_TENANT_ID is missing"):
        read_settings({"MICROSOFT_APP_ID": "8f1c2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
                       "MICROSOFT_APP_TYPE": "UserAssignedMSI"})


def test_a_cases_channel_that_is_not_a_channel_id_stops_start_up(all_policies):
    from aiohttp import web

    from adapters.teams.mount import mount_teams
    from bot.app import build_core
    from storage.memory_store import MemoryStore

    link = "https://teams.microsoft.com/l/channel/19%3aabc%40thread.tacv2/Cases"
    with pytest.raises(ConfigError, match="TEAMS_CASES_CHANNEL"):
        mount_teams(web.Application(), read_settings({"TEAMS_CASES_CHANNEL": link}), build_core(
            MemoryStore(), all_policies).door)

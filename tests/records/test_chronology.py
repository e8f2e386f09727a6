"""The chronology: every audit entry in plain words (date, who, what), and as a Markdown document."""

from __future__ import annotations

from conftest import CHILD_NAME
from records_kit import DAVID, DIRECTORY, LENA, REASON, Desk, at

from bot.records.chronology import Row, chronology, chronology_markdown, md_cell


async def resolved_case(store, all_policies, outcome: str = "Strategy discussion held; plan agreed.") -> dict:
    desk = Desk(store, {"gloucestershire": all_policies["gloucestershire"]}, at(2026, 11, 23))
    ref = await desk.open_case()
    await desk.escalate(LENA, ref, at(2026, 11, 24))
    await desk.act(LENA, "extend", ref, "2026-12-10", "Lena Okafor", "Priya Nair", "Leave", when=at(2026, 11, 25))
    await desk.act(LENA, "done", f"{ref} 1", when=at(2026, 11, 25, 11))
    await desk.resolve(DAVID, ref, at(2026, 11, 26), outcome)
    return await desk.case(ref)


async def test_rows_say_when_who_and_what_in_plain_words(store, all_policies):
    case = await resolved_case(store, all_policies)
    rows = chronology(case, DIRECTORY)
    assert rows[0] == Row("23 Nov 2026 10:00", "Jordan Ellis (Social Worker, Northshire Children's Services)",
                          "Opened the case at Stage 1: Discuss with the other worker; due by 30 November 2026.")
    assert rows[1] == Row("24 Nov 2026 10:00", "Lena Okafor (Team Manager, Northshire Children's Services)",
                          "Escalated to Stage 2: Escalate to Line Manager; due by 1 December 2026. "
                          f"Reason: {REASON}")
    assert rows[2].what == ("Extended the timescale of Stage 2: Escalate to Line Manager: due date changed from "
                            "1 December 2026 to 10 December 2026. Agreed by Lena Okafor and Priya Nair. Reason: Leave")
    assert rows[3].what == "Recorded as done: notify Named/designated safeguarding lead in your organisation."
    assert rows[4].who.startswith("David Hughes")
    assert rows[4].what == ("Resolved at Stage 2: Escalate to Line Manager. Outcome: Strategy discussion held; plan "
                            "agreed. Follow-up: Both team managers review the plan in two weeks.")
    assert len(rows) == len(case["events"])
    assert all(CHILD_NAME not in r.what for r in rows)


def test_unknown_people_and_actions_still_read(all_policies):
    def event(at: str, by: str, action: str, detail: str) -> dict[str, str]:
        return {"at": f"2026-{at}:00+00:00", "by": by, "action": action, "detail": detail}

    case = {"ref": "ESC-2026-0009", "raised_by": {"channel": "slack", "id": "U0NOBODY", "name": "", "email": ""},
            "stages": [{"stage": 2}], "events": [
                event("12-01T09:00", "bot", "nudge_sent", "2:overdue:2026-12-01"),
                event("12-08T09:00", "bot", "nudge_sent", "2:lead:2026-12-08"),
                event("11-30T09:00", "slack:U0OTHER", "case_reopened", "on 2026-11-30"),
                event("11-30T08:00", "slack:U0NOBODY", "opened", "x; due none"),
            ]}
    rows = chronology(case)
    assert rows == [
        Row("30 Nov 2026 08:00", "U0NOBODY", "Opened the case at x; no set timescale."),
        Row("30 Nov 2026 09:00", "slack:U0OTHER", "Case reopened: on 30 November 2026."),
        Row("1 Dec 2026 09:00", "The bot", "Reminder sent: Stage 2 is overdue."),
        Row("8 Dec 2026 09:00", "The bot", "Reminder sent: Stage 2 is seriously overdue; the safeguarding lead(s) "
                                           "told."),
    ]


async def test_markdown_has_heading_summary_with_child_and_escaped_table(store, all_policies):
    case = await resolved_case(store, all_policies, outcome="Plan | agreed <b>now</b>")
    text = chronology_markdown(case, all_policies["gloucestershire"], DIRECTORY)
    lines = text.splitlines()
    assert lines[0] == f"# Chronology of {case['ref']}"
    assert "OFFICIAL-SENSITIVE" in lines[2]
    assert f"| Child's name | {CHILD_NAME} |" in lines
    assert "| Child's date of birth | 3 February 2015 |" in lines
    assert "| Status | Resolved |" in lines
    header = lines.index("| Date | Who | What |")
    assert lines[header + 1] == "|---|---|---|"
    table = lines[header + 2:]
    assert len(table) == len(case["events"])
    assert "Outcome: Plan \\| agreed &lt;b&gt;now&lt;/b&gt;" in table[-1]
    assert all(line.count(" | ") == 2 for line in table)  # no unescaped pipe splits a cell


def test_md_cell_escapes_pipes_html_and_line_breaks():
    assert md_cell("a|b\\c") == "a\\|b\\\\c"
    assert md_cell("x\r\ny\nz") == "x<br>y<br>z"
    assert md_cell("<script>") == "&lt;script&gt;"


def test_md_cell_escapes_link_image_and_code_syntax():
    assert md_cell("[click](https://evil.example)") == "\\[click\\]\\(https://evil.example\\)"
    assert md_cell("![x](https://evil.example/p.png)") == "\\!\\[x\\]\\(https://evil.example/p.png\\)"
    assert md_cell("`code` <https://evil.example>") == "\\`code\\` &lt;https://evil.example&gt;"
    assert md_cell("[a][1] & &lt;b&gt;") == "\\[a\\]\\[1\\] &amp; &amp;lt;b&amp;gt;"  # shown as typed


async def test_a_typed_link_or_image_is_never_live_in_the_markdown(store, all_policies):
    desk = Desk(store, {"gloucestershire": all_policies["gloucestershire"]}, at(2026, 11, 23))
    ref = await desk.open_case()
    await desk.act(LENA, "escalate", ref, "See [this](https://evil.example) ![t](https://evil.example/t.png)",
                   when=at(2026, 11, 24))
    text = chronology_markdown(await desk.case(ref), all_policies["gloucestershire"], DIRECTORY)
    assert "Reason: See \\[this\\]\\(https://evil.example\\) \\!\\[t\\]\\(https://evil.example/t.png\\)" in text
    assert "](" not in text.replace("\\](", "")

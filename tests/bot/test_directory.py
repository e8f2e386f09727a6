"""The directory: CSV parsing and validation, export round-trip, lookups, counterparts per procedure, storage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.people.counterparts import counterparts, liaison_role
from bot.people.directory import (
    CONTACT_KINDS,
    Directory,
    Person,
    load_directory,
    normalise_agency,
    save_directory,
)
from bot.people.directory_csv import (
    COLUMNS,
    DirectoryCsvError,
    demo_directory,
    export_directory_csv,
    parse_directory_csv,
    read_directory_csv,
)
from policies.loader import load_policies
from policies.model import Policy
from storage.memory_store import MemoryStore

POLICIES = load_policies()
IDS = list(POLICIES)
HEADER = ",".join(COLUMNS)
POLICE = "Northshire Police"
CS = "Northshire Children's Services"


@pytest.fixture(scope="module")
def demo() -> Directory:
    return demo_directory(IDS)


def policy(policy_id: str) -> Policy:
    return POLICIES[policy_id]


def csv_of(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(DirectoryCsvError) as caught:
        parse_directory_csv(text, IDS)
    return caught.value.problems


def emails(*people: Person | None) -> list[str | None]:
    return [p.email if p else None for p in people]


# --- parsing and validation -------------------------------------------------------------------------------------


def test_parse_happy_path() -> None:
    text = csv_of(
        "Ann.Lee@Agency.example.org,Ann Lee,Agency A,Team Manager,line_manager,,UANN,29:ann,safeguarding_lead; slo,",
        "bo@agency.example.org,Bo Sun,Agency A,Worker,practitioner,ANN.LEE@agency.example.org,,,,surrey;medway",
    )
    directory = parse_directory_csv(text, IDS)
    ann, bo = directory.people
    assert ann == Person(
        "ann.lee@agency.example.org", "Ann Lee", "Agency A", "Team Manager", "line_manager", "", "UANN", "29:ann",
        ("safeguarding_lead", "slo"), (),
    )  # fmt: skip
    assert bo.line_manager == "ann.lee@agency.example.org"
    assert bo.partnerships == ("surrey", "medway")
    assert bo.label == "Bo Sun (Worker, Agency A)"
    assert directory.serves(bo, "surrey") and not directory.serves(bo, "bcssp") and directory.serves(ann, "bcssp")


def test_columns_in_any_order_and_blank_lines_skipped() -> None:
    header = ",".join(reversed(COLUMNS))
    text = f"{header}\n\n,,,,,,,,,\n,,,,practitioner,Worker,Agency A,Bo Sun,bo@agency.example.org\n"
    (bo,) = parse_directory_csv(text.replace(",,,,practitioner", ",,,,,practitioner"), IDS).people
    assert (bo.email, bo.tier, bo.agency) == ("bo@agency.example.org", "practitioner", "Agency A")


def test_every_problem_is_listed_with_its_line_number_in_one_error() -> None:
    text = csv_of(
        "a@x.example.org,Ann,Agency A,,boss,nobody@x.example.org,U1,,slo;helper,nowhere",  # line 2
        "not-an-email,Bo,Agency A,,practitioner,,U1,,,",  # line 3
        "A@X.example.org,,Agency A,,practitioner,,,T1,,",  # line 4
        "c@x.example.org,Cy,Agency A,,line_manager,d@x.example.org,,T1,,",  # line 5
        "d@x.example.org,Di,Agency A,,senior_manager,c@x.example.org,,,,",  # line 6
        "e@x.example.org,Ed,,,practitioner,e@x.example.org,,,,",  # line 7
        "f@x.example.org,=HYPERLINK(1),Agency A,,practitioner,,,,,",  # line 8
        "g@x.example.org,Gil,Agency A",  # line 9
    )
    assert problems_of(text) == (
        "line 2: tier: unknown tier 'boss' (use one of practitioner, line_manager, senior_manager, head_of_service, "
        "partnership)",
        "line 2: contact_for: unknown value 'helper' (use safeguarding_lead, iro, business_unit, board, slo)",
        f"line 2: partnerships: unknown policy id 'nowhere' (known: {', '.join(sorted(IDS))})",
        "line 2: line_manager: nobody@x.example.org is not a person in this file",
        "line 3: email: not an email address ('not-an-email')",
        "line 3: slack_id: U1 is also on line 2",
        "line 4: name: must not be empty",
        "line 4: email: a@x.example.org is also on line 2",
        "line 5: teams_id: T1 is also on line 4",
        "line 5: line_manager: line managers go round in a circle (lines 5, 6, 5)",
        "line 7: agency: must not be empty",
        "line 7: line_manager: a person cannot be their own line manager",
        "line 8: name: must not start with '=' (a spreadsheet formula)",
        "line 9: (row): has 3 fields; the header has 10",
    )


def test_header_problems() -> None:
    header = HEADER.replace("tier,", "").replace("email,", "email,phone,email,")
    assert problems_of(header + "\na@x.example.org,,,,,,,,,,\n") == (
        "line 1: email: column given twice",
        f"line 1: phone: unknown column (the columns are {', '.join(COLUMNS)})",
        "line 1: tier: missing column",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "line 1: (file): the file is empty; it needs a header line and one line per person"),
        ("\n\n", "line 1: (file): the file is empty; it needs a header line and one line per person"),
        (HEADER + "\n", "line 2: (file): the file has a header but nobody in it"),
    ],
)
def test_empty_files_are_refused(text: str, problem: str) -> None:
    assert problems_of(text) == (problem,)


def test_line_numbers_count_physical_lines_with_quoted_newlines() -> None:
    text = csv_of('a@x.example.org,"Ann\nLee",Agency A,,practitioner,,,,,', "b@x.example.org,Bo,Agency A,,boss,,,,,")
    assert problems_of(text) == (
        "line 4: tier: unknown tier 'boss' (use one of practitioner, line_manager, senior_manager, head_of_service, "
        "partnership)",
    )


def test_bom_and_crlf(tmp_path: Path) -> None:
    text = csv_of("a@x.example.org,Ann,Agency A,,practitioner,,,,,", "b@x.example.org,Bo,Agency A,,boss,,,,,")
    path = tmp_path / "people.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    with pytest.raises(DirectoryCsvError) as caught:
        read_directory_csv(path, IDS)
    assert caught.value.problems[0].startswith("line 3: tier: unknown tier 'boss'")
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("boss", "line_manager").replace("\n", "\r\n").encode())
    assert [p.name for p in read_directory_csv(path, IDS).people] == ["Ann", "Bo"]
    path.write_bytes(b"email\xff\n")
    with pytest.raises(DirectoryCsvError, match="not UTF-8"):
        read_directory_csv(path, IDS)


def test_export_round_trips(demo: Directory) -> None:
    text = export_directory_csv(demo)
    assert text.splitlines()[0] == HEADER
    again = parse_directory_csv(text, IDS)
    assert again == demo
    assert export_directory_csv(again) == text


# --- the demo directory and lookups -----------------------------------------------------------------------------


def test_demo_directory_is_fictional_and_has_every_tier(demo: Directory) -> None:
    assert all(p.email.rsplit("@", 1)[1].endswith(("example.org", "example.net", "example.com")) for p in demo.people)
    for agency in (CS, POLICE, "Northshire Primary School", "Northshire Community Health"):
        tiers = {p.tier for p in demo.people if p.agency == agency}
        assert tiers == {"practitioner", "line_manager", "senior_manager", "head_of_service"}, agency
    assert {k for p in demo.people for k in p.contact_for} == set(CONTACT_KINDS)
    assert demo.find("PRACTITIONER@example.org") is not None


def test_match_agency(demo: Directory) -> None:
    assert demo.match_agency("northshire police") == POLICE
    assert demo.match_agency("  The Northshire-Police. ") == POLICE
    assert demo.match_agency("Northshire Childrens Services") == CS
    assert demo.match_agency("northshire pol") == POLICE
    assert demo.match_agency("Northshire") is None  # more than one agency starts so
    assert demo.match_agency("Police") is None
    assert demo.match_agency("") is None
    assert normalise_agency("The Bath & N.E. Somerset") == "bathandnesomerset"


def test_chain_and_chat_ids(demo: Directory) -> None:
    me = demo.find("practitioner@example.org")
    assert me is not None
    assert [p.name for p in demo.chain(me)] == ["Jordan Ellis", "Lena Okafor", "David Hughes", "Ruth Adeyemi"]
    assert demo.by_chat_id("slack", "U0DEMO0001") == me
    assert demo.by_chat_id("teams", "29:demo-jordan-ellis") == me
    assert demo.by_chat_id("console", "Practitioner@Example.org") == me
    assert demo.by_chat_id("slack", "UNKNOWN") is None
    leads = [p for p in demo.people if "safeguarding_lead" in p.contact_for]
    assert emails(*(p for p in leads if p.agency == POLICE and demo.serves(p, "surrey"))) == [
        "sam.patel@northshire-police.example.org"]
    assert len(leads) == 4
    assert emails(*demo.contacts("iro", "medway")) == ["grace.thompson@northshire-council.example.org"]


def test_directory_refuses_duplicate_chat_ids() -> None:
    one = Person("a@x.example.org", "A", "Ag", "", "practitioner", slack_id="U1")
    with pytest.raises(ValueError, match="slack id 'U1'"):
        Directory([one, Person("b@x.example.org", "B", "Ag", "", "practitioner", slack_id="U1")])


# --- counterparts -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "raiser_side", "other_side"),
    [
        (1, "lena.okafor@northshire-council.example.org", None),  # internal: the other agency does not act
        (2, "practitioner@example.org", "chris.walker@northshire-police.example.org"),
        (3, "lena.okafor@northshire-council.example.org", "priya.nair@northshire-police.example.org"),
        (4, "ruth.adeyemi@northshire-council.example.org", "helen.brooks@northshire-police.example.org"),
        (5, "ruth.adeyemi@northshire-council.example.org", "business.unit@northshire-partnership.example.org"),
    ],
)
def test_surrey_counterparts(demo: Directory, stage: int, raiser_side: str, other_side: str | None) -> None:
    found = counterparts(demo, policy("surrey"), stage, demo.find("practitioner@example.org"), "", "Northshire Police")
    assert emails(found.raiser_side, found.other_side) == [raiser_side, other_side]
    assert found.notes == ()


def test_medway_stage_2_senior_managers(demo: Directory) -> None:
    raiser = demo.find("chris.walker@northshire-police.example.org")
    found = counterparts(demo, policy("medway"), 2, raiser, "", "northshire children's services")
    assert emails(found.raiser_side, found.other_side) == [
        "sam.patel@northshire-police.example.org",
        "david.hughes@northshire-council.example.org",  # the first senior manager in the file
    ]
    assert found.other_agency == CS


def test_lincolnshire_step_3_prefers_the_senior_liaison_officer(demo: Directory) -> None:
    raiser = demo.find("chris.walker@northshire-police.example.org")
    found = counterparts(demo, policy("lincolnshire"), 3, raiser, "", CS)
    assert emails(found.other_side) == ["maria.lopez@northshire-council.example.org"]
    assert liaison_role(policy("lincolnshire"), CS) == "Head of Service (North Kesteven)"
    assert liaison_role(policy("lincolnshire"), "Lincolnshire Police") == "Head of PPU"
    assert liaison_role(policy("lincolnshire"), POLICE) is None
    assert liaison_role(policy("surrey"), CS) is None


def test_lincolnshire_note_names_the_slo_when_nobody_is_found(demo: Directory) -> None:
    found = counterparts(demo, policy("lincolnshire"), 3, None, "Lincolnshire Police", "CAFCASS")
    assert found.raiser_side is None and found.other_side is None and found.other_agency is None
    # What was typed (agencies not in the directory) is never repeated: the notes point to them instead, with the
    # role the procedure's table gives each agency's SLO.
    assert found.raiser_notes == ("Your agency's Senior Liaison Officer (SLO) is not in the directory (the LSCB table "
                                  "names its Head of PPU): ask within your agency.",)
    (other,) = found.other_notes
    assert other.startswith("The other agency's Senior Liaison Officer (SLO) is not in the directory (the LSCB table "
                            "names its Service Manager). Ask the professional you are dealing with for the name and "
                            "contact details of their Senior Liaison Officer (SLO): ")
    assert "CAFCASS" not in " ".join(found.notes) and "Lincolnshire Police" not in " ".join(found.notes)
    # Step 2 (line managers, not SLOs): the procedure's SLO help and table, in its words ([next_contact], [liaison]).
    found = counterparts(demo, policy("lincolnshire"), 2, None, "Lincolnshire Police", "CAFCASS")
    (raiser_note,) = found.raiser_notes
    assert raiser_note.startswith("You are not in the directory")
    assert raiser_note.endswith("your Senior Liaison Officer (SLO) will advise (LSCB SLO table).")
    duty, table = found.other_notes
    assert duty.startswith("The other agency is not in the directory.")
    assert ("your Senior Liaison Officer (SLO) will advise (LSCB SLO table; your SLO is your agency's Head of PPU)"
            in duty)
    assert table == "The other agency's Senior Liaison Officer is its Service Manager (LSCB SLO table)."
    assert "CAFCASS" not in " ".join(found.notes) and "Lincolnshire Police" not in " ".join(found.notes)


def test_lincolnshire_step_3_names_each_agencys_slo_not_the_next_manager(demo: Directory) -> None:
    """LSCB Step 3: "Each LSCB agency has a senior liaison officer who can be contacted to assist"; the stage says so
    as data (raiser_contact / other_contact = "slo"), and the directory's contact_for = slo says who."""
    lscb = policy("lincolnshire")
    assert (lscb.stage(3).raiser_contact, lscb.stage(3).other_contact) == ("slo", "slo")
    jordan = demo.find("practitioner@example.org")
    found = counterparts(demo, lscb, 3, jordan, "", POLICE, other_professional="Chris Walker")
    assert emails(found.raiser_side, found.other_side) == [
        "maria.lopez@northshire-council.example.org",  # not David Hughes, Jordan's line's senior manager
        "sam.patel@northshire-police.example.org",
    ]
    assert found.notes == ()
    # Step 4: the SLOs advise on referral to the case review group; the partnership's business unit on the other side.
    found = counterparts(demo, lscb, 4, jordan, "", POLICE)
    assert emails(found.raiser_side, found.other_side) == [
        "maria.lopez@northshire-council.example.org", "business.unit@northshire-partnership.example.org"]
    # An agency without an SLO in the directory: nobody else is named in their place, and the note says whom to ask.
    school = demo.find("emma.clarke@northshire-primary.example.net")
    without = Directory(p for p in demo.people if "slo" not in p.contact_for)
    found = counterparts(without, lscb, 3, school, "", POLICE)
    assert found.raiser_side is None and found.other_side is None
    assert found.raiser_notes == ("Northshire Primary School's Senior Liaison Officer (SLO) is not in the directory: "
                                  "ask within your agency.",)
    assert found.other_notes[0].startswith("Northshire Police's Senior Liaison Officer (SLO) is not in the directory.")


def test_a_named_professional_senior_to_the_stage_is_the_contact_without_a_false_note(demo: Directory) -> None:
    """Naming a detective sergeant at a practitioners' stage: she is the contact, and nothing claims that nobody at
    the practitioner level is in the directory (Chris Walker is)."""
    found = counterparts(demo, policy("surrey"), 2, demo.find("practitioner@example.org"), "", POLICE,
                         other_professional="Priya Nair")
    assert emails(found.other_side) == ["priya.nair@northshire-police.example.org"]
    assert found.notes == ()


def test_the_other_professionals_own_chain_is_preferred(demo: Directory) -> None:
    me = demo.find("practitioner@example.org")
    surrey = policy("surrey")
    for named in ("Lucy Bennett", "LUCY.BENNETT@northshire-police.example.org"):
        found = counterparts(demo, surrey, 3, me, "", POLICE, other_professional=named)
        assert emails(found.other_side) == ["owen.price@northshire-police.example.org"]
    found = counterparts(demo, surrey, 3, me, "", POLICE, other_professional="Someone Else")
    assert emails(found.other_side) == ["priya.nair@northshire-police.example.org"]


@pytest.mark.parametrize(
    ("policy_id", "duty"),
    [
        ("surrey", "every agency has a duty to give the next contact at once (SSCP 6.3)."),
        ("bcssp", "(BCSSP Additional Requirements 4)."),
        ("medway", "the other agency should give you the next contact at once"),
    ],
)
def test_nothing_found_reminds_the_other_agency_of_its_duty(demo: Directory, policy_id: str, duty: str) -> None:
    stage = 3 if policy_id == "surrey" else 2
    found = counterparts(demo, policy(policy_id), stage, demo.find("practitioner@example.org"), "", "Fire Service")
    assert found.other_side is None and found.other_agency is None
    (note,) = found.notes
    assert note.startswith("The other agency is not in the directory. Ask the professional you are dealing with for ")
    assert duty in note


def test_an_agency_without_that_tier() -> None:
    text = csv_of(
        "a@x.example.org,Ann,Agency A,Worker,practitioner,,,,,",
        "h@y.example.org,Hal,Agency B,Director,head_of_service,,,,,",
        "w@y.example.org,Wyn,Agency B,Worker,practitioner,h@y.example.org,,,,",
    )
    directory = parse_directory_csv(text, IDS)
    raiser = directory.find("a@x.example.org")
    found = counterparts(directory, policy("surrey"), 3, raiser, "", "agency b")
    assert emails(found.raiser_side, found.other_side) == [None, "h@y.example.org"]
    assert found.raiser_notes == (
        "Nobody above you at the level of line manager / supervisor is in the directory for Agency A: ask within it.",
    )
    assert found.other_notes == (
        "Nobody at the level of line manager / supervisor in Agency B is in the directory; the nearest more senior "
        "contact is Hal (Director, Agency B).",
    )
    found = counterparts(directory, policy("surrey"), 5, raiser, "", "agency b")
    assert found.other_side is None
    assert found.other_notes[0].startswith("No SSCP partnership contact (business unit or board) is in the directory")
    directory = parse_directory_csv(csv_of("w@y.example.org,Wyn,Agency B,Worker,practitioner,,,,,"), IDS)
    found = counterparts(directory, policy("surrey"), 3, raiser, "", "Agency B")
    assert found.other_notes[0].startswith("Agency B's line manager / supervisor is not in the directory. Ask the ")


def test_raiser_not_in_directory(demo: Directory) -> None:
    found = counterparts(demo, policy("surrey"), 3, None, "Northshire Fire Service", POLICE)
    assert found.raiser_side is None
    assert emails(found.other_side) == ["priya.nair@northshire-police.example.org"]
    assert found.notes == (
        "You are not in the directory, so it cannot name your line manager / supervisor: ask within your agency.",
    )  # (the agency they typed is not in the directory either, so it is not repeated)
    typed_listed = counterparts(demo, policy("surrey"), 3, None, "the northshire police", POLICE)
    assert typed_listed.notes == ("You are not in the directory, so it cannot name your line manager / supervisor: "
                                  "ask within Northshire Police.",)  # (the directory's name for what was typed)


def test_partnership_contacts_respect_partnerships(demo: Directory) -> None:
    unit = "business.unit@northshire-partnership.example.org"
    directory = Directory(replace(p, partnerships=("medway",)) if p.email == unit else p for p in demo.people)
    assert emails(counterparts(directory, policy("surrey"), 5, None, "", "").other_side) == [
        "chair@northshire-partnership.example.org"  # the board, when the business unit serves only Medway
    ]
    assert emails(counterparts(directory, policy("medway"), 4, None, "", "").other_side) == [
        "business.unit@northshire-partnership.example.org"
    ]


def test_unknown_stage_is_refused(demo: Directory) -> None:
    with pytest.raises(ValueError, match="no stage 9"):
        counterparts(demo, policy("surrey"), 9, None, "", POLICE)


# --- storage ----------------------------------------------------------------------------------------------------


async def test_save_and_load(demo: Directory) -> None:
    async with MemoryStore() as store:
        assert await load_directory(store) is None
        await save_directory(store, demo)
        assert await load_directory(store) == demo
        smaller = Directory(demo.people[:3])
        await save_directory(store, smaller)  # a re-import replaces the whole directory
        assert await load_directory(store) == smaller
        assert sorted(await store.keys("directory")) == ["current", "version"]  # (and which import is current)

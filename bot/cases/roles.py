"""Who is who on a case: the person behind a chat user, who must act at a stage on each side, who may act on a case
(and so see it), and whom a message about it addresses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.cases import messages
from bot.cases.case import Case
from bot.people.counterparts import Counterparts, counterparts, named_professional
from bot.people.directory import People, Person
from bot.types import Mention, UserRef
from policies.model import Policy


@dataclass(frozen=True)
class Addressees:
    """Whoever must act on a case now: their names (for the text), whom to @mention, and the next tier's contacts."""

    names: str
    mentions: tuple[Mention, ...]
    next_contact: str


def mention(person: Person) -> Mention:
    ids = tuple((channel, uid) for channel, uid in (("slack", person.slack_id), ("teams", person.teams_id)) if uid)
    return Mention(person.name, person.email, ids)


class Roles:
    def __init__(self, people: People) -> None:
        self.people = people

    def person(self, user: UserRef) -> Person | None:
        directory = self.people.directory
        return directory.by_chat_id(user.channel, user.id) or (directory.find(user.email) if user.email else None)

    def raiser(self, case: Case) -> Person | None:
        raised = case["raised_by"]
        return self.person(UserRef(raised["channel"], raised["id"], email=raised.get("email", "")))

    def counterparts(self, policy: Policy, case: Case, stage: int | None = None) -> Counterparts:
        details = case["details"]
        number = stage or case["stage"]
        assert number is not None
        raiser = self.raiser(case)
        typed_manager = str(details.get("raiser_manager") or "") if raiser is None else ""
        return counterparts(self.people.directory, policy, number, raiser,
                            details.get("raiser_agency", ""), details.get("other_agency", ""),
                            details.get("other_professional", ""),
                            raiser_manager=self.named(typed_manager), manager_given=bool(typed_manager.strip()))

    def named(self, typed: str) -> Person | None:
        """The person typed text names, if it names someone in the directory by email or full name (so chat may
        show the directory's name for them: the typed text itself is never shown)."""
        directory = self.people.directory
        words = {w.strip(" ,;<>()").lower() for w in typed.split()}
        return next((p for p in directory.people if p.email in words), None) or next(
            (p for p in directory.people if typed.strip() and p.name.lower() in typed.lower()), None)

    def recorded_contact(self, case: Case) -> str:
        """The contact recorded for the current stage as chat may show it: the directory's name for them when what
        was typed names someone in it (by email or full name), else only that it is recorded."""
        found = self.named(case.get("actors", {}).get("other_recorded", ""))
        return found.label if found is not None else "recorded (see the written record)"

    def viewer(self, user: UserRef, case: Case) -> messages.Viewer:
        """Who is reading about the case, so a message says "you" to them and only to them."""
        raised = case["raised_by"]
        return messages.Viewer(self.person(user), raised["channel"] == user.channel and raised["id"] == user.id)

    def name_of(self, case: Case, key: str) -> str:
        """A readable name for an audit entry's `by` ("channel:id"): the directory's name, the raiser's chat name,
        else "someone else"; never the raw id."""
        channel, _, user_id = key.partition(":")
        found = self.person(UserRef(channel, user_id, email=user_id if channel == "console" else ""))
        if found is not None:
            return found.name
        raised = case["raised_by"]
        if key == f"{raised['channel']}:{raised['id']}":
            return raised.get("name") or "the practitioner who raised it"
        return "the bot" if key == "bot" else "someone else"

    def is_lead(self, user: UserRef) -> Person | None:
        """The person, if they may ask for the weekly summary (a safeguarding lead or a partnership contact)."""
        me = self.person(user)
        if me is None or not ("safeguarding_lead" in me.contact_for or me.tier == "partnership"):
            return None
        return me

    def leads(self, policy: Policy, case: Case) -> tuple[Person, ...]:
        """The safeguarding leads told when a stage is seriously overdue: those serving this procedure in the two
        agencies of the case, and any at the partnership; the same leads `may_act` lets see and act on the case, and
        nobody in an agency with no part in it."""
        directory = self.people.directory
        raiser = self.raiser(case)
        own = raiser.agency if raiser else directory.match_agency(case["details"].get("raiser_agency", ""))
        agencies = {a for a in (own, self.counterparts(policy, case).other_agency) if a}
        return tuple(p for p in directory.contacts("safeguarding_lead", policy.id)
                     if p.agency in agencies or p.tier == "partnership")

    def may_act(self, user: UserRef, case: Case, policy: Policy, at_stage: int | None = None) -> bool:
        """The raiser, their managers, anyone who has acted on the case, whoever must act at the stage (the current
        one unless `at_stage`; for a resolved case, the one it was resolved at) on either side, or a safeguarding lead
        of either agency or of the partnership."""
        raised = case["raised_by"]
        if raised["channel"] == user.channel and raised["id"] == user.id:
            return True
        me = self.person(user)
        if me is None:
            return False
        directory = self.people.directory
        raiser = self.raiser(case)
        if raiser is not None and me in directory.chain(raiser):
            return True
        if any(event.get("by") == user.key for event in case.get("events", [])):
            return True  # (acted on it before, at any stage: still on the case, resolved or not)
        current = case.get("stage")
        if current is None and case["status"] == "resolved":  # where it ended: those at that stage, and the leads
            outcome: dict[str, Any] = dict(case.get("outcome") or {})
            current = outcome.get("stage")
        if case["status"] == "immediate_harm" or current is None:
            return False
        number = at_stage if at_stage is not None and policy.stage(at_stage) else current
        sides = self.counterparts(policy, case, number)
        agencies = {raiser.agency if raiser else case["details"].get("raiser_agency", ""), sides.other_agency}
        if "safeguarding_lead" in me.contact_for and directory.serves(me, policy.id) and (
            me.agency in agencies or me.tier == "partnership"
        ):
            return True
        if me in (sides.raiser_side, sides.other_side):
            return True
        return self._in_named_line(me, case, policy, number, sides)

    def _in_named_line(self, me: Person, case: Case, policy: Policy, number: int, sides: Counterparts) -> bool:
        """In the other agency: the professional the raiser named and their line of management (whom the stages
        climb); if they are not in the directory, the counterpart the bot named and their line. Never anyone else
        in that agency merely for being senior enough: they have no part in this child's case."""
        stage = policy.stage(number)
        if stage is None or stage.other_tier == "none" or not sides.other_agency or me.agency != sides.other_agency:
            return False  # (an internal stage: the other agency has no part in it yet)
        directory = self.people.directory
        named = named_professional(directory, policy, sides.other_agency,
                                   case["details"].get("other_professional", ""))
        line = named or sides.other_side
        return line is not None and me in directory.chain(line)

    def addressees(self, policy: Policy, case: Case) -> Addressees:
        """Whoever must act on the case now (none once it is closed), and who acts at the next tier."""
        if case.get("status") != "open" or case.get("stage") is None:
            return Addressees("", (), "")
        sides = self.counterparts(policy, case)
        people = [p for p in (sides.raiser_side, sides.other_side) if p is not None]
        stage = case["stage"]
        assert stage is not None
        following = policy.next_stage(stage)
        nxt = ""
        if following:
            nxt = messages.contacts_line(policy, following.number, self.counterparts(policy, case, following.number))
        return Addressees(" and ".join(p.name for p in people), tuple(mention(p) for p in people), nxt)

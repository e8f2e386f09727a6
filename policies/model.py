"""The procedure model: frozen dataclasses a policy file is loaded into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

TIERS: tuple[str, ...] = (
    "practitioner",
    "line_manager",
    "senior_manager",
    "head_of_service",
    "partnership",
    "none",
)
TIER_LABELS: dict[str, str] = {
    "practitioner": "practitioner",
    "line_manager": "line manager / supervisor",
    "senior_manager": "senior manager / designated safeguarding lead",
    "head_of_service": "head / director of service",
    "partnership": "safeguarding partnership",
    "none": "nobody",
}
# Shared contacts a directory entry can be (its `contact_for`), which a stage may name as whom to contact. `slo` is an
# agency's liaison officer: what a procedure calls them is its own wording ([liaison]; Policy.contact_label).
CONTACT_KINDS: tuple[str, ...] = ("safeguarding_lead", "iro", "business_unit", "board", "slo")
CONTACT_LABELS: dict[str, str] = {
    "safeguarding_lead": "designated safeguarding lead",
    "iro": "Independent Reviewing Officer (IRO)",
    "business_unit": "partnership business unit",
    "board": "partnership board",
    "slo": "liaison officer",
}
REGIONS: tuple[str, ...] = ("ENG", "WLS", "SCT", "NIR")
SCOPES: tuple[str, ...] = ("children", "adults")
QUESTION_KINDS: tuple[str, ...] = ("yes_no", "choice", "text", "date")
COUNTS_FROM: tuple[str, ...] = ("disagreement", "stage_start")
NOTIFY_ON: tuple[str, ...] = ("enter", "resolve", "harm")
# The clocks a notification duty's deadline can run on (at most one per duty): working days (weekends, bank holidays
# and the policy's closure days skipped), calendar days, calendar months, or hours.
DUTY_CLOCKS: tuple[str, ...] = ("within_working_days", "within_calendar_days", "within_months", "within_hours")
# What can fill a form field (`fill`), and whether it reads one stage (`stage`, default the form's `from_stage`).
# bot/records/forms.py holds how each is filled; policies/README.md says what each gives.
FORM_FILLS: dict[str, bool] = {
    "reference": False, "arose_on": False, "answer": False, "nature": False, "people": False,
    "people_names": False, "people_roles": False, "people_agencies": False, "people_contacts": False,
    "raiser": False, "raiser_agency": False, "raiser_line_manager": False,
    "history": False, "escalation": False, "actions_to_date": False,
    "final_date": False, "final_outcome": False, "panel_convened": False, "by_hand": False,
    "concerns_remaining": True, "escalated_by": True, "raiser_contact": True,
    "stage_started": True, "stage_due": True, "stage_ended": True, "stage_dates": True, "stage_outcome": True,
    "stage_response": True, "stage_resolution": True, "stage_progressed": True, "next_stage_started": True,
}


@dataclass(frozen=True)
class Option:
    """One answer a choice question offers."""

    id: str
    label: str


@dataclass(frozen=True)
class Question:
    """One Stage 1 question, rendered by each channel in its own idiom."""

    id: str
    kind: str
    prompt: str
    required: bool = True
    help: str = ""
    options: tuple[Option, ...] = ()
    sensitive: bool = False
    max_length: int = 2000
    not_future: bool = False
    cite: str = ""
    day_words: bool = True  # date questions: "today" and "yesterday" are taken (and offered) as answers
    after_today: bool = False  # date questions: only a date after today (an agreed new due date)
    working_day: bool = False  # date questions: only a working day in the procedure's calendar

    def option(self, option_id: str) -> Option | None:
        """The option with this id, if the question offers it."""
        return next((o for o in self.options if o.id == option_id), None)

    @property
    def date_hint(self) -> str:
        """How a date question may be answered, offering only what can be valid: "today or yesterday" never where
        only a later date is (an extension), nor where the words are not taken (a child's date of birth)."""
        formats = "YYYY-MM-DD or DD/MM/YYYY"
        if self.after_today:
            return f"{'a working day' if self.working_day else 'a date'} after today: {formats}"
        if not self.day_words:
            return formats
        return "YYYY-MM-DD, DD/MM/YYYY, today or yesterday"


@dataclass(frozen=True)
class Stage:
    """One stage (or step) of a procedure, in the procedure's own numbering."""

    number: int
    name: str
    raiser_tier: str
    other_tier: str
    action: str
    working_days: int | None
    counts_from: str
    cite: str
    timescale_note: str = ""
    raiser_contact: str = ""  # a contact kind (CONTACT_KINDS): whom to contact in the raiser's agency, not the tier
    other_contact: str = ""  # the same in the other agency (at a partnership stage: the partnership's contact)


@dataclass(frozen=True)
class OverallCap:
    """A cap on the whole process, counted from the disagreement arising: until a stage is reached (BCSSP's 10
    working days "to be either resolved or ... escalated to stage 4"), or until the case is resolved."""

    working_days: int
    until_stage: int | None
    description: str
    cite: str
    until_resolution: bool = False

    def runs_at(self, stage: int) -> bool:
        """Whether the cap still runs while a case is open at this stage."""
        return self.until_resolution or (self.until_stage is not None and stage < self.until_stage)


@dataclass(frozen=True)
class ImmediateHarm:
    """What to do at once when a child is at immediate risk of harm: the procedure's words (`route`, cited) and the
    product's own advice after them (`guidance`, e.g. the 999 line), never attributed to the procedure."""

    route: str
    cite: str
    guidance: str = ""

    @property
    def text(self) -> str:
        """As shown to a practitioner: the procedure's route with its cite, then the product's guidance."""
        return f"{self.route} ({self.cite})" + (f" {self.guidance}" if self.guidance else "")


@dataclass(frozen=True)
class PreStage:
    """An unnumbered step the procedure expects before its first stage (Medway's professional to professional)."""

    name: str
    action: str
    cite: str


@dataclass(frozen=True)
class Extension:
    """Whether both agencies may agree to change a stage's timescale, in the procedure's own words."""

    allowed: bool
    wording: str
    cite: str
    stages: tuple[int, ...] = ()

    def allows(self, stage: int) -> bool:
        """Whether both agencies may agree another timescale at this stage."""
        return self.allowed and (not self.stages or stage in self.stages)


@dataclass(frozen=True)
class Debrief:
    """An offer of a reflective debrief once a disagreement is resolved (BCSSP, GSCP)."""

    text: str
    cite: str


@dataclass(frozen=True)
class FinalStage:
    """The nature of the last stage: who decides and whether the decision binds."""

    nature: str
    binding: bool
    description: str
    cite: str
    decision: str = ""  # the procedure's words on a binding decision, said when it is recorded


@dataclass(frozen=True)
class Notification:
    """A duty to tell someone (IRO, partnership business unit) at a stage, maybe with a form."""

    id: str
    stages: tuple[int, ...]
    on: str
    notify: str
    responsible_tier: str
    text: str
    cite: str
    form: str = ""
    when_child_status: tuple[str, ...] = ()
    within_working_days: int | None = None
    within_calendar_days: int | None = None
    within_months: int | None = None
    within_hours: int | None = None

    def applies_at(self, stage: int | None) -> bool:
        """Whether the duty applies at this stage (None: an immediate-harm record, before any stage); a harm duty
        with no stages listed applies wherever the immediate-harm route is given."""
        return stage in self.stages if self.stages else self.on == "harm"


@dataclass(frozen=True)
class FormField:
    """One field of a form the procedure names."""

    id: str
    label: str
    section: str = ""
    fill: str = "by_hand"
    stage: int | None = None
    question: str = ""


@dataclass(frozen=True)
class Form:
    """A form the procedure names (BCSSP Appendix 2, Medway Stage 3 Escalation Alert Form, ...)."""

    id: str
    name: str
    send_to: str
    cite: str
    fields: tuple[FormField, ...]
    note: str = ""
    from_stage: int | None = None


@dataclass(frozen=True)
class NextContact:
    """Who must give the next contact when the directory cannot name it, in the procedure's words: `duty` (the other
    agency's), and `own_side` (help on the raiser's side, e.g. Lincolnshire's Senior Liaison Officers)."""

    duty: str
    cite: str
    own_side: str = ""


# Where a procedure says nothing about it (Medway, Gloucestershire): the product's own words, not a procedure's.
GENERIC_NEXT_CONTACT = NextContact("the other agency should give you the next contact at once, so the escalation is "
                                   "not held up", "")


REMINDERS_OVERDUE_EVERY = 2  # working days between reminders while a stage is overdue (policies/README.md)
REMINDERS_LEAD_AFTER = 5  # working days overdue after which the safeguarding lead(s) are told, once


@dataclass(frozen=True)
class Reminders:
    """How the bot chases a stage that is overdue: a reminder every `overdue_every` working days for as long as it
    is, and, once it is `lead_after` working days overdue, the safeguarding lead(s) told (once per stage). These are
    the product's defaults unless a procedure says otherwise (`cite` then names where)."""

    overdue_every: int = REMINDERS_OVERDUE_EVERY
    lead_after: int = REMINDERS_LEAD_AFTER
    cite: str = ""


@dataclass(frozen=True)
class Category:
    """A kind of disagreement the procedure lists."""

    id: str
    label: str
    cite: str


@dataclass(frozen=True)
class Liaison:
    """What the procedure calls each agency's liaison officer (Lincolnshire: Senior Liaison Officer, SLO) and where
    its table of them comes from. Whom a stage contacts is the stage's (`raiser_contact` / `other_contact` = "slo");
    this is only how they are named."""

    title: str
    abbreviation: str
    cite: str

    @property
    def label(self) -> str:
        """'Senior Liaison Officer (SLO)'."""
        return f"{self.title} ({self.abbreviation})"


@dataclass(frozen=True)
class LiaisonOfficer:
    """An agency's Senior Liaison Officer role (Lincolnshire)."""

    agency: str
    role: str


@dataclass(frozen=True)
class Policy:
    """One partnership's escalation procedure, as loaded and validated from its policy file."""

    id: str
    name: str
    short_name: str
    scope: tuple[str, ...]
    version: str
    region: str
    source: str
    stage_label: str
    immediate_harm: ImmediateHarm
    stages: tuple[Stage, ...]
    extension: Extension
    final_stage: FinalStage
    categories: tuple[Category, ...]
    questions: tuple[Question, ...]
    overall: OverallCap | None = None
    pre_stage: PreStage | None = None
    notifications: tuple[Notification, ...] = ()
    forms: dict[str, Form] = field(default_factory=dict)
    liaison_officers: tuple[LiaisonOfficer, ...] = ()
    liaison: Liaison | None = None
    debrief: Debrief | None = None
    reminders: Reminders = field(default_factory=Reminders)
    next_contact: NextContact = GENERIC_NEXT_CONTACT
    closure_days: tuple[date, ...] = ()
    path: str = ""

    def stage(self, number: int) -> Stage | None:
        """The stage with this number (the procedure's own numbering), if it exists."""
        return next((s for s in self.stages if s.number == number), None)

    def next_stage(self, number: int) -> Stage | None:
        """The stage after this one, or None at the final stage."""
        later = [s for s in self.stages if s.number > number]
        return later[0] if later else None

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]

    @property
    def last_stage(self) -> Stage:
        return self.stages[-1]

    def question(self, question_id: str) -> Question | None:
        """The Stage 1 question with this id."""
        return next((q for q in self.questions if q.id == question_id), None)

    def contact_label(self, kind: str) -> str:
        """What a contact kind is called in this procedure: its liaison officers by its own title ([liaison]), the
        other kinds by the product's words (CONTACT_LABELS)."""
        if kind == "slo" and self.liaison is not None:
            return self.liaison.label
        return CONTACT_LABELS[kind]

    def stage_title(self, number: int) -> str:
        """E.g. 'Stage 3: Escalation to Line Management/Second-Tier Management'."""
        stage = self.stage(number)
        name = f": {stage.name}" if stage else ""
        return f"{self.stage_label} {number}{name}"

"""Loads and validates policy files (TOML) into Policy objects; a bad file stops start-up with a clear line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path

from policies.model import (
    CONTACT_KINDS,
    COUNTS_FROM,
    DUTY_CLOCKS,
    FORM_FILLS,
    GENERIC_NEXT_CONTACT,
    NOTIFY_ON,
    QUESTION_KINDS,
    REGIONS,
    SCOPES,
    TIERS,
    Category,
    Debrief,
    Extension,
    FinalStage,
    Form,
    FormField,
    ImmediateHarm,
    Liaison,
    LiaisonOfficer,
    NextContact,
    Notification,
    Option,
    OverallCap,
    Policy,
    PreStage,
    Question,
    Reminders,
    Stage,
)
from policies.quotes import misquoted, source_path
from policies.reader import PolicyError, Reader

FORMAT_VERSION = 1
POLICY_DIR = Path(__file__).resolve().parent
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")

# Questions the core relies on, by id and kind (policies/README.md, "Questions").
REQUIRED_QUESTIONS: dict[str, str] = {
    "immediate_risk": "yes_no",
    "arose_on": "date",
    "other_agency": "text",
    "other_professional": "text",
    "other_role": "text",
    "category": "choice",
    "disputed": "text",
    "impact": "text",
    "desired_change": "text",
    "discussed_line_manager": "yes_no",
    "discussed_other": "yes_no",
    "child_status": "choice",
    "agency_reference": "text",
    "child_name": "text",
    "child_dob": "date",
}
SENSITIVE_QUESTIONS = ("child_name", "child_dob")
REQUIRED_CHILD_STATUSES = ("child_protection_plan", "looked_after", "none")


def load_policy(path: Path) -> Policy:
    """Read one policy file; raise PolicyError naming the file, field and problem."""
    file = _display(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(file, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(file, "", f"is not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(file, "", f"is not valid TOML: {exc}") from None
    policy = _parse(Reader(file, data), file)
    _check_consistency(policy, file)
    source = source_path(policy, path.parent)
    if source.is_file():  # the procedure's own text is kept: a quotation not in it stops start-up
        for problem in misquoted(policy, source.read_text(encoding="utf-8"))[:1]:
            where, _, what = problem.partition(": ")
            raise PolicyError(file, where, what)
    return policy


def load_policies(directory: Path = POLICY_DIR, ids: tuple[str, ...] = ()) -> dict[str, Policy]:
    """Every policy file in a directory, keyed by id; `ids` keeps only (and requires) those, in that order."""
    found: dict[str, Policy] = {}
    for path in sorted(directory.glob("*.toml")):
        policy = load_policy(path)
        if policy.id in found:
            raise PolicyError(_display(path), "id", f"{policy.id!r} is already used by {found[policy.id].path}")
        found[policy.id] = policy
    if not found:
        raise PolicyError(_display(directory), "", "holds no policy files (*.toml)")
    if not ids:
        return found
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise PolicyError(
            "BOT_POLICY", "", f"unknown policy id {unknown[0]!r}; known ids: {', '.join(sorted(found))}"
        )
    return {i: found[i] for i in ids}


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _parse(r: Reader, file: str) -> Policy:
    fmt = r.integer("format", low=1, high=FORMAT_VERSION)
    assert fmt is not None
    pid = r.text("id")
    if not ID_PATTERN.match(pid):
        raise r.fail("id", "must be 2-32 lower-case letters, digits, '-' or '_', starting with a letter")
    categories = tuple(_category(c) for c in r.tables("categories"))
    policy = Policy(
        id=pid,
        name=r.text("name"),
        short_name=r.text("short_name"),
        scope=r.texts("scope", choices=SCOPES),
        version=r.text("version"),
        region=r.text("region", choices=REGIONS),
        source=r.text("source"),
        stage_label=r.text("stage_label", required=False, default="Stage"),
        immediate_harm=_immediate_harm(_req(r.table("immediate_harm"))),
        stages=tuple(_stage(s) for s in r.tables("stages")),
        extension=_extension(_req(r.table("extension"))),
        final_stage=_final_stage(_req(r.table("final_stage"))),
        categories=categories,
        questions=tuple(_question(q, categories) for q in r.tables("questions")),
        overall=_overall(r.table("overall", required=False)),
        pre_stage=_pre_stage(r.table("pre_stage", required=False)),
        notifications=tuple(_notification(n) for n in r.tables("notifications", required=False)),
        forms={k: _form(k, f) for k, f in r.mapping("forms", required=False).items()},
        liaison_officers=tuple(_liaison(s) for s in r.tables("liaison_officers", required=False)),
        liaison=_liaison_title(r.table("liaison", required=False)),
        debrief=_debrief(r.table("debrief", required=False)),
        reminders=_reminders(r.table("reminders", required=False)),
        next_contact=_next_contact(r.table("next_contact", required=False)),
        closure_days=_closure_days(r.table("calendar", required=False)),
        path=file,
    )
    if not policy.scope:
        raise r.fail("scope", "must name at least one of children, adults")
    r.done()
    return policy


def _req(r: Reader | None) -> Reader:
    assert r is not None  # required tables raise in Reader.table
    return r


def _immediate_harm(r: Reader) -> ImmediateHarm:
    out = ImmediateHarm(route=r.text("route"), cite=r.text("cite"), guidance=r.text("guidance", required=False))
    r.done()
    return out


def _stage(r: Reader) -> Stage:
    number = r.integer("number", low=1, high=20)
    days = r.integer("working_days", required=False, low=1, high=60)
    no_timescale = r.flag("no_timescale", required=False)
    if (days is None) == (not no_timescale):
        raise r.fail("working_days", "give either working_days = N or no_timescale = true (exactly one)")
    if no_timescale and r.has("counts_from"):
        raise r.fail("counts_from", "a stage with no timescale has no clock to count from")
    out = Stage(
        number=number or 0,
        name=r.text("name"),
        raiser_tier=r.text("raiser_tier", choices=TIERS),
        other_tier=r.text("other_tier", choices=TIERS),
        action=r.text("action"),
        working_days=days,
        counts_from=r.text("counts_from", required=days is not None, default="stage_start", choices=COUNTS_FROM),
        cite=r.text("cite"),
        timescale_note=r.text("timescale_note", required=False),
        raiser_contact=r.text("raiser_contact", required=False, choices=CONTACT_KINDS),
        other_contact=r.text("other_contact", required=False, choices=CONTACT_KINDS),
    )
    for side in ("raiser", "other"):
        if getattr(out, f"{side}_tier") == "none" and getattr(out, f"{side}_contact"):
            raise r.fail(f"{side}_contact", f"nobody acts on this side ({side}_tier = \"none\"): no contact to name")
    r.done()
    return out


def _overall(r: Reader | None) -> OverallCap | None:
    if r is None:
        return None
    until_stage = r.integer("until_stage", required=False, low=1, high=20)
    until_resolution = r.flag("until_resolution", required=False)
    if (until_stage is None) == (not until_resolution):
        raise r.fail("until_stage", "give either until_stage = N or until_resolution = true (exactly one)")
    out = OverallCap(
        working_days=r.integer("working_days", low=1, high=120) or 0,
        until_stage=until_stage,
        description=r.text("description"),
        cite=r.text("cite"),
        until_resolution=until_resolution,
    )
    r.done()
    return out


def _pre_stage(r: Reader | None) -> PreStage | None:
    if r is None:
        return None
    out = PreStage(name=r.text("name"), action=r.text("action"), cite=r.text("cite"))
    r.done()
    return out


def _extension(r: Reader) -> Extension:
    out = Extension(
        allowed=r.flag("allowed"),
        wording=r.text("wording"),
        cite=r.text("cite"),
        stages=r.integers("stages", required=False),
    )
    if out.stages and not out.allowed:
        raise r.fail("stages", "only an allowed extension names the stages it applies to")
    r.done()
    return out


def _final_stage(r: Reader) -> FinalStage:
    out = FinalStage(
        nature=r.text("nature"), binding=r.flag("binding"), description=r.text("description"), cite=r.text("cite"),
        decision=r.text("decision", required=False),
    )
    if out.decision and not out.binding:
        raise r.fail("decision", "only a binding final stage has words for its binding decision")
    r.done()
    return out


def _category(r: Reader) -> Category:
    out = Category(id=r.text("id"), label=r.text("label"), cite=r.text("cite"))
    r.done()
    return out


def _question(r: Reader, categories: tuple[Category, ...]) -> Question:
    kind = r.text("kind", choices=QUESTION_KINDS)
    options: tuple[Option, ...] = ()
    source = r.text("options_from", required=False, choices=("categories",))
    if source:
        if kind != "choice":
            raise r.fail("options_from", "is only for choice questions")
        options = tuple(Option(c.id, c.label) for c in categories)
    for o in r.tables("options", required=False):
        options += (Option(o.text("id"), o.text("label")),)
        o.done()
    if kind == "choice" and not options:
        raise r.fail("options", "a choice question needs options (or options_from = \"categories\")")
    if kind != "choice" and options:
        raise r.fail("options", f"only choice questions have options (this one is {kind})")
    sensitive = r.flag("sensitive", required=False)
    out = Question(
        id=r.text("id"),
        kind=kind,
        prompt=r.text("prompt"),
        required=r.flag("required", required=False, default=True),
        help=r.text("help", required=False),
        options=options,
        sensitive=sensitive,
        max_length=r.integer("max_length", required=False, low=1, high=10_000) or 2000,
        not_future=r.flag("not_future", required=False),
        cite=r.text("cite"),
        # a child's detail (a date of birth) is written out from the records, never "today": words off by default
        day_words=r.flag("day_words", required=False, default=not sensitive),
    )
    if "day_words" in r.data and kind != "date":
        raise r.fail("day_words", f"is only for date questions (this one is {kind})")
    r.done()
    return out


def _notification(r: Reader) -> Notification:
    on = r.text("on", choices=NOTIFY_ON)
    clocks = [key for key in DUTY_CLOCKS if r.has(key)]
    if len(clocks) > 1:
        raise r.fail(clocks[1], f"a duty has one deadline: give only one of {', '.join(DUTY_CLOCKS)}")
    out = Notification(
        id=r.text("id"),
        stages=r.integers("stages", required=on != "harm"),
        on=on,
        notify=r.text("notify"),
        responsible_tier=r.text("responsible_tier", choices=TIERS),
        text=r.text("text"),
        cite=r.text("cite"),
        form=r.text("form", required=False),
        when_child_status=r.texts("when_child_status", required=False),
        within_working_days=r.integer("within_working_days", required=False, low=0, high=60),
        within_calendar_days=r.integer("within_calendar_days", required=False, low=0, high=366),
        within_months=r.integer("within_months", required=False, low=1, high=24),
        within_hours=r.integer("within_hours", required=False, low=1, high=720),
    )
    r.done()
    return out


def _form(key: str, r: Reader) -> Form:
    fields: list[FormField] = []
    for f in r.tables("fields"):
        if any(existing.id == f.data.get("id") for existing in fields):
            raise f.fail("id", f"the field id {f.data.get('id')!r} is used twice in this form")
        fill = f.text("fill", choices=tuple(FORM_FILLS))
        stage = f.integer("stage", required=False, low=1, high=20)
        if stage is not None and not FORM_FILLS[fill]:
            raise f.fail("stage", f"fill = {fill!r} does not read a stage")
        question = f.text("question", required=fill == "answer")
        if question and fill != "answer":
            raise f.fail("question", "only fill = \"answer\" names a question")
        fields.append(FormField(id=f.text("id"), label=f.text("label"), section=f.text("section", required=False),
                                fill=fill, stage=stage, question=question))
        f.done()
    out = Form(
        id=key,
        name=r.text("name"),
        send_to=r.text("send_to"),
        cite=r.text("cite"),
        fields=tuple(fields),
        note=r.text("note", required=False),
        from_stage=r.integer("from_stage", required=False, low=1, high=20),
    )
    r.done()
    return out


def _debrief(r: Reader | None) -> Debrief | None:
    if r is None:
        return None
    out = Debrief(text=r.text("text"), cite=r.text("cite"))
    r.done()
    return out


def _reminders(r: Reader | None) -> Reminders:
    """The `[reminders]` table; absent (or a field absent): the format's defaults (policies/README.md)."""
    if r is None:
        return Reminders()
    default = Reminders()
    every = r.integer("overdue_every", required=False, low=1, high=20)
    lead = r.integer("lead_after", required=False, low=1, high=60)
    out = Reminders(overdue_every=default.overdue_every if every is None else every,
                    lead_after=default.lead_after if lead is None else lead, cite=r.text("cite", required=False))
    r.done()
    return out


def _next_contact(r: Reader | None) -> NextContact:
    if r is None:
        return GENERIC_NEXT_CONTACT
    out = NextContact(duty=r.text("duty"), cite=r.text("cite"), own_side=r.text("own_side", required=False))
    r.done()
    return out


def _closure_days(r: Reader | None) -> tuple[date, ...]:
    if r is None:
        return ()
    days = r.dates("closure_days")
    r.text("cite")  # where the list comes from (the council's published closure days): required, not shown
    r.done()
    return days


def _liaison_title(r: Reader | None) -> Liaison | None:
    if r is None:
        return None
    out = Liaison(title=r.text("title"), abbreviation=r.text("abbreviation"), cite=r.text("cite"))
    r.done()
    return out


def _liaison(r: Reader) -> LiaisonOfficer:
    out = LiaisonOfficer(agency=r.text("agency"), role=r.text("role"))
    r.done()
    return out


def _check_consistency(p: Policy, file: str) -> None:
    def fail(field: str, problem: str) -> PolicyError:
        return PolicyError(file, field, problem)

    numbers = [s.number for s in p.stages]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        raise fail("stages", f"numbers must run in order without gaps or repeats (found {numbers})")
    for number in p.extension.stages:
        if p.stage(number) is None:
            raise fail("extension.stages", f"there is no stage {number}")
    if p.overall and p.overall.until_stage is not None and p.stage(p.overall.until_stage) is None:
        raise fail("overall.until_stage", f"there is no stage {p.overall.until_stage}")
    if p.liaison_officers and p.liaison is None:
        raise fail("liaison", "is missing: [[liaison_officers]] needs [liaison] (title, abbreviation, cite)")
    for i, stage in enumerate(p.stages):
        for key in ("raiser_contact", "other_contact"):
            if getattr(stage, key) == "slo" and p.liaison is None:
                raise fail(f"stages[{i}].{key}", "names the agencies' liaison officers: add [liaison] (title, "
                           "abbreviation, cite) to say what the procedure calls them")
    _unique(fail, "categories", [c.id for c in p.categories])
    _unique(fail, "questions", [q.id for q in p.questions])
    _unique(fail, "notifications", [n.id for n in p.notifications])
    for i, asked in enumerate(p.questions):
        _unique(fail, f"questions[{i}].options", [o.id for o in asked.options])
    for qid, kind in REQUIRED_QUESTIONS.items():
        required = p.question(qid)
        if required is None:
            raise fail("questions", f"the required question {qid!r} ({kind}) is missing")
        if required.kind != kind:
            raise fail(f"questions.{qid}.kind", f"must be {kind!r} (found {required.kind!r})")
    if p.questions[0].id != "immediate_risk":
        raise fail("questions[0].id", "the immediate-risk question must come first (the child's safety first)")
    for qid in SENSITIVE_QUESTIONS:
        detail = p.question(qid)
        if detail is not None and (not detail.sensitive or detail.required):
            raise fail(f"questions.{qid}", "child details must be sensitive = true and required = false")
    status = p.question("child_status")
    status_ids = {o.id for o in status.options} if status else set()
    for sid in REQUIRED_CHILD_STATUSES:
        if sid not in status_ids:
            raise fail("questions.child_status.options", f"must include the option {sid!r}")
    for i, n in enumerate(p.notifications):
        for number in n.stages:
            if p.stage(number) is None:
                raise fail(f"notifications[{i}].stages", f"there is no stage {number}")
        if n.form and n.form not in p.forms:
            raise fail(f"notifications[{i}].form", f"no form {n.form!r} is defined under [forms]")
        for sid in n.when_child_status:
            if sid not in status_ids:
                raise fail(f"notifications[{i}].when_child_status", f"{sid!r} is not a child_status option")
    for key, form in p.forms.items():
        if form.from_stage is not None and p.stage(form.from_stage) is None:
            raise fail(f"forms.{key}.from_stage", f"there is no stage {form.from_stage}")
        for j, f in enumerate(form.fields):
            if f.stage is not None and p.stage(f.stage) is None:
                raise fail(f"forms.{key}.fields[{j}].stage", f"there is no stage {f.stage}")
            if f.question and p.question(f.question) is None:
                raise fail(f"forms.{key}.fields[{j}].question", f"there is no question {f.question!r}")


def _unique(fail: Callable[[str, str], PolicyError], field: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise fail(field, f"the id {i!r} is used twice")
        seen.add(i)

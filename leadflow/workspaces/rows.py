"""The rows of the queue pages, ready to print.

A queue page lists 25 to 100 leads. Formatting each value in the template engine (includes,
filters, localized numbers, every row's action forms) cost 0.3 ms a row and most of the page's
time, so the rows are built here, once, from the selectors' plain values, each as the HTML of
its cells (`html`), and the templates only print them: even a template variable a cell costs
more than the rest of the row. The action forms are rendered once a page (`forms_for`), and each
row carries only the buttons that open them (`RowAction`); app.js copies a form into the row that
opens it.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from html import escape
from string import Formatter
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeData, SafeString, mark_safe

from stages.models import Source, Stage, Status

from . import humanize
from .actions import ACTIONS

SOURCES = dict(Source.choices)
# Dates as the templates' "M j" and "D" print them (English, as the rest of the pages).
MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
STATUSES = dict(Status.choices)


@dataclass(frozen=True)
class RowAction:
    """A button of a row that opens an action's form, with its keyboard shortcut."""

    name: str  # the action (`ACTIONS`) its form posts to
    label: str
    key: str
    style: str = "secondary"
    variant: str = ""  # the page's form when one action has two (Lose is a disqualify)
    default_reason: str = ""
    submit: str = ""

    @property
    def form_id(self) -> str:
        return self.variant or self.name

    @property
    def template(self) -> str:
        return ACTIONS[self.name].template


ATTEMPT = RowAction("attempt", "Log attempt", "a")
NURTURE = RowAction("nurture", "Bad timing", "b")
REOPEN = RowAction("reopen", "Reopen", "r")
CONVERT = RowAction("convert", "Book meeting", "m", "primary")
BOOK_MEETING = RowAction("book_meeting", "Book meeting", "m", "primary")
DISQUALIFY = RowAction("disqualify", "Disqualify", "d", "ghost")
WORK_ACTIONS = {
    "mql": (ATTEMPT, NURTURE, CONVERT, DISQUALIFY),
    "nurturing": (ATTEMPT, REOPEN, CONVERT, DISQUALIFY),
    "sql": (ATTEMPT, BOOK_MEETING, DISQUALIFY),
}
NEXT_STEP = RowAction("next_step", "Next step", "n", "ghost")
WIN = RowAction("win", "Win", "w", "success")
LOSE = RowAction(
    "disqualify", "Lose", "l", variant="lose", default_reason="lost", submit="Mark as lost"
)
RECYCLE = RowAction("recycle", "Recycle", "r", "ghost")
HAND_BACK = RowAction("hand_back", "Hand back", "h", "ghost")
DEAL_ACTIONS = {
    "sdr": (NEXT_STEP, WIN, LOSE, RECYCLE, HAND_BACK),
    "direct": (NEXT_STEP, WIN, LOSE, RECYCLE),
}


def forms_for(action_sets: dict[str, tuple[RowAction, ...]]) -> list[RowAction]:
    """Each form the rows of a page may open, once."""
    forms = {action.form_id: action for actions in action_sets.values() for action in actions}
    return list(forms.values())


@functools.cache
def _buttons(actions: tuple[RowAction, ...]) -> SafeString:
    """The buttons of a kind of row. They hold nothing of the row (app.js reads the lead from
    the row), so each kind is rendered once a process."""
    return render_to_string("workspaces/partials/row_actions.html", {"actions": actions})


# The cells of several parts, filled in by `_html`: as template variables, tags or includes,
# their pieces would cost more than the rest of the row.
LEAD_LINK = '<a class="lead-name" href="{}">{}</a>'
LEAD_CELL = LEAD_LINK + '<span class="sub">{}</span>'
SCORE_CELL = (
    '<span class="score" title="Behaviour {1} + fit {2}"><strong>{0}</strong><span class="sub">'
    '<span class="visually-hidden">behaviour </span>B {1} · '
    '<span class="visually-hidden">fit </span>F {2}</span></span>'
)
TIME = '<time datetime="{}" title="{}">{}</time>'
SUB = '<span class="sub">{}</span>'
SLA_OVERDUE = '<span class="sub"><span class="badge badge-danger" title="{}">Past SLA</span></span>'
SLA_DUE = '<span class="sub"><span class="badge badge-warning" title="{}">{}</span></span>'
FOLLOW_UP = '<span class="{}">{}</span><span class="sub">follow-up day</span>'
MEETING = '<time class="when{0}" datetime="{1}">{2}</time><span class="sub{0}">{3} · {4}</span>'
PERSON = '<span class="person"><span class="avatar avatar-sm" aria-hidden="true">{}</span>{}</span>'
MUTED = '<span class="muted">{}</span>'
STATUS = (
    '<span class="badge status status-{}"><span class="dot" aria-hidden="true"></span>{}</span>'
)
COOLING = mark_safe(
    '<span class="badge badge-warning" title="Its score fell below the MQL rule">cooling</span>'
)
MQL_ROW = """<tr>
  <td class="col-check">
    <input type="checkbox" name="leads" value="{key}" aria-label="Tick {name}"></td>
  <td>{lead}</td>
  <td>{company}<span class="sub col-opt">{job_title}</span></td>
  <td class="num">{score}{cooling}</td>
  <td class="col-opt">{source}<span class="sub">{campaign}</span></td>
  <td>{mql_for}</td>
  <td>{owner}</td>
  <td>{status}</td>
</tr>
"""
# The work and deal rows up to their actions cell, which the template fills: the row of a failed
# action renders its forms there.
WORK_ROW = """<tr id="row-{key}" data-row data-lead="{key}">
  <td>{lead}</td>
  <td>{company}<span class="sub">{job_title}</span></td>
  <td class="num">{score}</td>
  <td class="nowrap">{waiting}</td>
  <td class="actions">"""
DEAL_ROW = """<tr id="row-{key}" data-row data-lead="{key}" data-next-step="{next_step}">
  <td>{lead}</td>
  <td>{company}<span class="sub">{job_title}</span></td>
  <td>{meeting}</td>
  <td class="next-step">{next_step_cell}</td>
  <td class="col-opt">{in_stage}</td>
  <td class="col-opt">{booked_by}</td>
  <td class="num">{score}</td>
  <td class="actions">"""
NO_NEXT_STEP = mark_safe('<span class="muted">No next step</span>')


def _text(value: Any) -> str:
    return value if isinstance(value, SafeData) else escape(str(value))


def _html(template: str, *values: Any, **named: Any) -> SafeString:
    """`format_html` for the rows' loop: the same escaping, without its per-value overhead."""
    text = template.format(*map(_text, values), **{name: _text(v) for name, v in named.items()})
    # SafeString() rather than mark_safe(): the same for a str, without its lazy-string check.
    return SafeString(text)  # every value above is escaped or already HTML


@functools.cache
def _fields(template: str) -> tuple[str, ...]:
    """The names a row's template reads."""
    return tuple(dict.fromkeys(name for _, name, _, _ in Formatter().parse(template) if name))


def _cells(template: str, row: dict[str, Any], **more: Any) -> SafeString:
    """The row's HTML: `template` with the row's values, and `more`, by name."""
    values = {name: row[name] for name in _fields(template) if name not in more}
    return _html(template, **values, **more)


def _lead_url() -> str:
    """The lead page's address as a format string: reversing it for each of 100 rows would cost
    more than the rest of the row."""
    head, _, tail = reverse("lead_detail", args=[0]).rpartition("/0/")
    return f"{head}/{{}}/{tail}"


def _when(value: dt.datetime | None, now: dt.datetime, title: str = "{}") -> SafeString:
    """A moment as <time>: how long ago, its full date and time in the title."""
    if value is None:
        return _html(MUTED, "—")
    local = value.astimezone(timezone.get_current_timezone())
    words = f"{MONTHS[local.month]} {local.day}, {local.year} {local.hour:02}:{local.minute:02}"
    return _html(TIME, local.isoformat(), title.format(words), humanize.age(value, now))


def _person(values: dict[str, Any], prefix: str, nobody: str) -> SafeString:
    """A user of the row (its owner, its SDR): their initials and username."""
    username = values[f"{prefix}__username"]
    if not username:
        return _html(MUTED, nobody)
    full = f"{values[f'{prefix}__first_name']} {values[f'{prefix}__last_name']}".strip()
    return _html(PERSON, humanize.initials(full, username), username)


def _row(values: dict[str, Any], url: str, no_title: str = "") -> dict[str, Any]:
    # Every key a template reads is set: a missing one is a slow failed lookup. Text only, as
    # the template prints it (an integer would go through number localization).
    pk = values["id"]
    name = f"{values['contact__first_name']} {values['contact__last_name']}".strip()
    email = values["contact__email"]
    return {
        "pk": pk,
        "key": str(pk),
        "name": name or email or "Unnamed contact",
        # The lead's name, linked to its page, over its email.
        "lead": _html(LEAD_CELL, url.format(pk), name, email)
        if name
        else _html(LEAD_LINK, url.format(pk), email or "Unnamed contact"),
        "company": values["contact__company"] or "—",
        "job_title": values["contact__job_title"] or no_title,
        "score": _html(SCORE_CELL, values["score"], values["behaviour_score"], values["fit_score"]),
        "failed": False,
        "buttons": "",
    }


def _actions(
    row: dict[str, Any], actions: tuple[RowAction, ...], failed: dict[str, Any] | None
) -> None:
    """The row's buttons; on the row of a `failed` action, its forms, that one open."""
    row["actions"] = actions
    if failed and failed["lead"] == row["pk"]:
        row["failed"] = True
    else:
        row["buttons"] = _buttons(actions)


def mql_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The MQL queue's rows, from `stages.selectors.MQL_FIELDS`."""
    now, url = timezone.now(), _lead_url()
    rows = []
    for values in items:
        row = _row(values, url)
        source, medium = values["first_touch_source"], values["first_touch_medium"]
        status = values["status"]
        row.update(
            cooling=values["is_cooling"],
            source=(f"{source} / {medium}" if medium else source)
            if source
            else SOURCES.get(values["source"], values["source"]),
            campaign=values["first_touch_campaign"],
            mql_for=_when(values["became_mql_at"], now),
            owner=_person(values, "owner", "Unassigned"),
            status=_html(STATUS, status, STATUSES.get(status, status)) if status else "",
        )
        row["html"] = _cells(MQL_ROW, row, cooling=COOLING if row["cooling"] else "")
        rows.append(row)
    return rows


def work_rows(
    items: list[dict[str, Any]],
    *,
    section: str,
    sla_hours: int,
    failed: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """An SDR's list rows, from `stages.selectors.WORK_FIELDS`. The row of a `failed` action
    renders its forms in place, that one open with its errors."""
    now, today, url = timezone.now(), timezone.localdate(), _lead_url()
    rows = []
    for values in items:
        row = _row(values, url, "No job title")
        stage, status = values["stage"], values["status"]
        if stage == Stage.MQL and status == Status.NURTURING:
            kind = "nurturing"
            day = values["follow_up_on"]
            words = humanize.relative(day, today=today)
            overdue = "overdue" if humanize.is_past(day, today=today) else ""
            waiting = _html(FOLLOW_UP, overdue, words[:1].upper() + words[1:])
        else:
            kind = "mql" if stage == Stage.MQL else "sql"
            label = "MQL" if kind == "mql" else "SQL"
            since = values["became_mql_at" if kind == "mql" else "became_sql_at"]
            sla = humanize.sla(since, sla_hours, now) if since and status == Status.OPEN else {}
            waiting = _when(since, now, f"{label} since {{}}") + (
                _html(SLA_OVERDUE, sla["text"])
                if sla.get("kind") == "overdue"
                else _html(SLA_DUE, sla["text"], sla["short"])
                if sla.get("kind") == "due"
                else _html(SUB, f"since {label}")
            )
        row.update(waiting=waiting, section=section, stage=stage, status=status)
        row["html"] = _cells(WORK_ROW, row)
        _actions(row, WORK_ACTIONS[kind], failed)
        rows.append(row)
    return rows


def deal_rows(
    items: list[dict[str, Any]], *, failed: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """An AE's deal rows, from `stages.selectors.DEAL_FIELDS`."""
    now, url = timezone.now(), _lead_url()
    rows = []
    for values in items:
        row = _row(values, url, "No job title")
        meeting = _html(MUTED, "Not set")
        if at := values["meeting_at"]:
            local = at.astimezone(timezone.get_current_timezone())
            meeting = _html(
                MEETING,
                " overdue" if at < now else "",
                local.isoformat(),
                f"{DAYS[local.weekday()]}, {MONTHS[local.month]} {local.day}",
                f"{local.hour:02}:{local.minute:02}",
                humanize.relative(at, now),
            )
        kind = "sdr" if values["sdr_id"] else "direct"
        row.update(
            meeting=meeting,
            next_step=values["next_step"],
            in_stage=_when(values["stage_changed_at"], now, "SQL since {}"),
            booked_by=_person(values, "sdr", SOURCES.get(values["source"], values["source"])),
        )
        row["html"] = _cells(DEAL_ROW, row, next_step_cell=row["next_step"] or NO_NEXT_STEP)
        _actions(row, DEAL_ACTIONS[kind], failed)
        rows.append(row)
    return rows

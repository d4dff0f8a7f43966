"""Writes on leads. Every stage or status change goes through `lead_transition`."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_fsm import ConcurrentTransition

from leadflow.people.models import Contact
from leadflow.people.roles import Role

from .models import (
    FIT_FIELDS,
    Attempt,
    Condition,
    Lead,
    LeadTransition,
    Note,
    Notification,
    OwnerChange,
    Source,
    Stage,
    StageRules,
    Status,
)
from .notifications import notify

User = get_user_model()

LABELS = {
    "identify": "Identify",
    "qualify": "Qualify as MQL",
    "convert": "Book meeting",
    "source_direct": "Enter as SQL",
    "win": "Win",
    "disqualify": "Disqualify",
    "recycle": "Recycle",
    "start_attempt": "Start contact attempts",
    "nurture": "Bad timing: nurture",
    "reopen": "Reopen",
    "book_meeting": "Book meeting",
    "hand_back": "Hand back to SDR",
    "assign": "Assign",
    "next_step": "Next step",
    "note": "Add a note",
    "profile": "Edit profile",
}


class TransitionError(Exception):
    """A transition that may not happen now, with the reasons in words."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.name = name
        self.problems = problems
        super().__init__(f"cannot {LABELS.get(name, name).lower()}: {'; '.join(problems)}")


def transition_problems(lead: Lead, name: str, user: AbstractUser | None) -> list[str]:
    """Say why `user` (None: the system) cannot make transition `name` now; [] if they can."""
    method = getattr(lead, name, None)
    meta = getattr(method, "_django_fsm", None)
    if meta is None:
        return [f"there is no transition called {name!r}"]
    state = meta.field.get_state(lead)
    if not meta.has_transition(state):
        label = dict(meta.field.choices).get(state) or "no status"
        return [f"not possible from {meta.field.name} {label}"]
    spec = meta.get_transition(state)
    if user is not None and not spec.has_perm(lead, user):
        codename = getattr(spec.permission, "codename", "")
        if codename and user.has_perm(f"stages.{codename}"):
            return ["this lead belongs to another rep"]
        return ["your role may not do this"]
    problems: list[str] = []
    for condition in spec.conditions:
        if isinstance(condition, Condition):
            problems += condition.problems(lead)
        elif not condition(lead):
            problems.append(condition.__name__.replace("_", " "))
    return problems


def lead_transition(*, lead: Lead | int, name: str, by: AbstractUser | str, **kwargs: Any) -> Lead:
    """Make transition `name` on the lead as `by` (a user, or the name of a system actor).

    Checks the role, ownership and conditions first and raises `TransitionError` with the
    reasons; a concurrent transition on the same lead also ends in `TransitionError`, never in two
    successes.
    """
    user = by if isinstance(by, User) else None
    try:
        with transaction.atomic():
            if not isinstance(lead, Lead):
                lead = Lead.objects.select_related("contact").get(pk=lead)
            if problems := transition_problems(lead, name, user):
                raise TransitionError(name, problems)
            before = _values(lead)
            try:
                getattr(lead, name)(by=by, **kwargs)
            except (ValueError, TypeError) as exc:
                raise TransitionError(name, [str(exc)]) from exc
            # Save only what the transition changed: a score written by a worker since this
            # lead was read must survive (the stage itself is guarded by the concurrency check).
            after = _values(lead)
            lead.save(update_fields=[f for f, value in after.items() if before[f] != value])
            if before["owner_id"] != after["owner_id"]:
                owner_change_record(
                    lead=lead, previous_id=before["owner_id"], by=by, reason=LABELS.get(name, name)
                )
    except ConcurrentTransition as exc:
        lead.refresh_from_db()
        raise TransitionError(
            name, ["someone else changed this lead at the same moment; reload and try again"]
        ) from exc
    return lead


def _values(lead: Lead) -> dict[str, Any]:
    return {field.attname: getattr(lead, field.attname) for field in lead._meta.concrete_fields}


def available_actions(lead: Lead, user: AbstractUser) -> list[dict[str, Any]]:
    """The transitions from the lead's current stage and status that this user's role may make.

    Each comes with `problems`: empty when it can be made now, else the unmet conditions in words
    (a page shows those disabled, with the reason).
    """
    actions = []
    for field in ("stage", "status"):
        for spec in getattr(lead, f"get_all_{field}_transitions")():
            state = getattr(lead, field)
            if spec.source != state or spec.name == "identify":
                continue
            if not spec.has_perm(lead, user):
                continue
            actions.append(
                {
                    "name": spec.name,
                    "label": LABELS.get(spec.name, spec.name),
                    "problems": transition_problems(lead, spec.name, user),
                }
            )
    return actions


def users_with_role(role: Role):
    return User.objects.filter(groups__name=role.value, is_active=True).order_by("username")


def reps_by_load(role: Role):
    """The active reps of a role with `load` (leads in work now, nurtures aside), `capacity` and
    `is_away` (from their availability; no row: no limit, not away)."""
    # A count per rep over the partial index of owned work: a join of reps to all leads would
    # be estimated (unanalyzed small tables) at millions of rows and pay for JIT on every call.
    in_work = (
        Lead.objects.filter(owner=OuterRef("pk"), stage__in=[Stage.MQL, Stage.SQL])
        .exclude(status=Status.NURTURING)
        .order_by()
        .values("owner")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return users_with_role(role).annotate(
        load=Coalesce(Subquery(in_work, output_field=IntegerField()), 0),
        capacity=F("availability__capacity"),
        is_away=Coalesce(F("availability__is_away"), False),
    )


def rep_next(role: Role) -> AbstractUser | None:
    """Round-robin by load: the rep of this role with the fewest leads in work, skipping reps
    away and reps at their capacity. None when every one is away or full: the lead waits
    unassigned in the MQL queue for a marketer."""
    return (
        reps_by_load(role)
        .filter(is_away=False)
        .filter(Q(capacity__isnull=True) | Q(load__lt=F("capacity")))
        .order_by("load", "id")
        .first()
    )


def sdr_next() -> AbstractUser | None:
    return rep_next(Role.SDR)


def owner_change_record(
    *, lead: Lead, previous_id: int | None, by: AbstractUser | str, reason: str = ""
) -> OwnerChange:
    """Record a change of owner, and tell the new owner when someone else gave them the lead."""
    user = by if isinstance(by, User) else None
    change = OwnerChange.objects.create(
        lead=lead,
        previous_id=previous_id,
        owner_id=lead.owner_id,
        by=user,
        actor="" if user else str(by),
        reason=reason,
    )
    if lead.owner_id and lead.owner_id != getattr(user, "pk", None):
        notify(
            user_id=lead.owner_id,
            lead=lead,
            kind=Notification.Kind.ASSIGNED,
            text=f"{lead} ({lead.get_stage_display()}) is yours now"
            + (f", from {user.get_username()}" if user else ""),
        )
    return change


# Which role may own a lead in each work state.
OWNER_ROLE = {
    (Stage.MQL, Status.OPEN): Role.SDR,
    (Stage.MQL, Status.CONTACT_ATTEMPT): Role.SDR,
    (Stage.MQL, Status.NURTURING): Role.SDR,
    (Stage.SQL, Status.CONTACT_ATTEMPT): Role.SDR,
    (Stage.SQL, Status.ACTIVE): Role.AE,
}


def assign_problems(lead: Lead, user: AbstractUser, owner: AbstractUser | None) -> list[str]:
    """Say why `user` cannot give this lead to `owner` (None: the round-robin); [] if they can."""
    if not user.has_perm("stages.assign_lead"):
        return ["your role may not assign leads"]
    role = OWNER_ROLE.get((lead.stage, lead.status))
    if role is None:
        return [f"a lead at stage {lead.get_stage_display()} is not assigned to a rep"]
    if owner is not None:
        if not owner.is_active or not owner.groups.filter(name=role.value).exists():
            return [f"{owner} is not an active {role.label}"]
        if owner.pk == lead.owner_id:
            return [f"{lead} is already {owner}'s"]
    return []


def _lead_locked(lead: Lead | int) -> Lead:
    """The lead read again and locked for the rest of the transaction."""
    pk = lead.pk if isinstance(lead, Lead) else lead
    return Lead.objects.select_for_update().select_related("contact").get(pk=pk)


def lead_assign(
    *, lead: Lead | int, by: AbstractUser, owner: AbstractUser | None = None, reason: str = ""
) -> Lead:
    """Give a lead to a rep, or with no `owner` to the round-robin's next one; recorded."""
    with transaction.atomic():
        lead = _lead_locked(lead)
        if problems := assign_problems(lead, by, owner):
            raise TransitionError("assign", problems)
        if owner is None:
            role = OWNER_ROLE[(lead.stage, lead.status)]
            owner = rep_next(role)
            if owner is None:
                raise TransitionError(
                    "assign", [f"every {role.label} is away or at capacity: choose one by name"]
                )
            reason = reason or "round-robin"
        previous_id = lead.owner_id
        lead.owner = owner
        lead.save(update_fields=["owner"])
        owner_change_record(lead=lead, previous_id=previous_id, by=by, reason=reason)
    return lead


def lead_qualify(*, lead: Lead | int, by: AbstractUser | str) -> Lead:
    """Qualify a lead as MQL and hand it to the next SDR."""
    return lead_transition(lead=lead, name="qualify", by=by, owner=sdr_next())


# -- many leads at once, for the system's own writes --

# What the receivers of django-fsm's post_transition do for one transition besides the audit
# record, which a bulk write (`leads_qualify_bulk`; the batch identify of the tracking ingest)
# writes itself: `transitions_follow` does it once for all the leads the write moved. A test
# lists the receivers: a new one fails it until it is followed there too.
FOLLOWED_RECEIVERS = {
    "stages.audit.transition_record",
    "leadflow.reports.receivers.journey_on_transition",
}
QUALIFY_BATCH = 1000


def transitions_follow(*, lead_ids: list[int], later: bool = False) -> None:
    """Do for these leads, moved in bulk without django-fsm, what the receivers of its
    post_transition do for a lead besides the audit record (FOLLOWED_RECEIVERS).

    `later`: by a worker once this transaction commits (the tracking API's identify calls, whose
    concurrent batches would otherwise queue on the reports' shared day rows), not in it.
    """
    if not lead_ids or not apps.is_installed("leadflow.reports"):
        return
    # The reports build on stages: imported here, not at the top.
    if later:
        from leadflow.reports.queue import journeys_schedule_refresh

        journeys_schedule_refresh(lead_ids)
    else:
        from leadflow.reports.services import journeys_refresh

        journeys_refresh(lead_ids=lead_ids)


def leads_qualify_bulk(*, lead_ids: Iterable[int], by: str) -> list[int]:
    """Qualify as MQL those of these leads that `lead_qualify` would, as the system actor `by`,
    with a few statements for each batch of QUALIFY_BATCH leads; return the ids qualified.

    The same outcome as `lead_qualify` on each lead in id order: the transition's own source
    and conditions checked on the leads as read, the fields `Lead.qualify` sets, its audit
    record, the round-robin's SDR with each new MQL counted in their load, the owner change and
    its notification, the journeys. A batch locks its leads in id order and skips those locked
    by another transaction (a person's transition, the ingest, another worker): whoever holds
    one moves it, or scores it again and qualifies it then.
    """
    ids = sorted(set(lead_ids))
    qualified: list[int] = []
    sdrs: _RoundRobin | None = None
    for n in range(0, len(ids), QUALIFY_BATCH):
        with transaction.atomic(), StageRules.pinned():
            leads = _qualifiable_locked(ids[n : n + QUALIFY_BATCH])
            if leads:
                # Read once, then kept up to date with this call's own assignments.
                sdrs = sdrs or _RoundRobin(Role.SDR)
                qualified += _qualify_write(leads, [sdrs.next() for _ in leads], by=by)
    return qualified


# What the qualify conditions and the writes read of a lead: deferring the rest (the contact's
# traits above all) halves the cost of loading a batch.
_QUALIFY_FIELDS = [
    "stage",
    "status",
    "owner_id",
    "score",
    "behaviour_score",
    "fit_score",
    *(f"contact__{name}" for name in FIT_FIELDS),
]


def _qualifiable_locked(ids: list[int]) -> list[Lead]:
    """Those of these leads that may be qualified now, locked (skipping those locked already)."""
    leads = (
        Lead.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("contact")
        .only(*_QUALIFY_FIELDS)
        .filter(pk__in=ids, stage=Stage.LEAD)
        .order_by("pk")
    )
    return [lead for lead in leads if not transition_problems(lead, "qualify", None)]


def _qualify_write(leads: list[Lead], sdrs: list[int | None], *, by: str) -> list[int]:
    """`Lead.qualify(by=by, owner=sdr)` and what follows it in `lead_transition`, for each lead
    and its SDR, as one statement; then the receivers' work (FOLLOWED_RECEIVERS)."""
    owners = [sdr or lead.owner_id for lead, sdr in zip(leads, sdrs, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH v AS (
                SELECT * FROM unnest(%(ids)s::bigint[], %(statuses)s::text[],
                    %(sdrs)s::bigint[], %(owners)s::bigint[], %(previous)s::bigint[],
                    %(names)s::text[]) AS v(id, status, sdr_id, owner_id, previous_id, name)
            ), moved AS (
                -- Lead.qualify (through _enter), guarded as ConcurrentTransitionMixin guards a
                -- save: only where the stage and the status are still those read.
                UPDATE {Lead._meta.db_table} AS l SET stage = %(mql)s, status = %(open)s,
                    stage_changed_at = %(now)s, became_mql_at = %(now)s, is_cooling = false,
                    follow_up_on = NULL, owner_id = v.owner_id
                FROM v WHERE l.id = v.id AND l.stage = %(lead)s AND l.status = v.status
                RETURNING l.id, l.score, l.behaviour_score, l.fit_score
            ), recorded AS (
                -- What stages.audit.transition_record writes for qualify(by=by, owner=sdr).
                INSERT INTO {LeadTransition._meta.db_table}
                    (lead_id, name, field, source, target, by_id, actor, reason, data, created_at)
                SELECT m.id, 'qualify', 'stage', %(lead)s, %(mql)s, NULL, %(by)s, '',
                    CASE WHEN v.sdr_id IS NULL THEN '{{}}'::jsonb
                        ELSE jsonb_build_object('owner', v.sdr_id) END
                    || jsonb_build_object('status', %(open)s::text, 'score', m.score,
                        'behaviour_score', m.behaviour_score, 'fit_score', m.fit_score),
                    %(now)s
                FROM moved m JOIN v USING (id)
            ), changed AS (
                -- What owner_change_record writes for a system actor.
                INSERT INTO {OwnerChange._meta.db_table}
                    (lead_id, previous_id, owner_id, by_id, actor, reason, created_at)
                SELECT m.id, v.previous_id, v.owner_id, NULL, %(by)s, %(label)s, %(now)s
                FROM moved m JOIN v USING (id)
                WHERE v.owner_id IS DISTINCT FROM v.previous_id
            ), noted AS (
                INSERT INTO {Notification._meta.db_table}
                    (user_id, lead_id, kind, text, created_at, read_at)
                SELECT v.owner_id, m.id, %(assigned)s, left(v.name, 300), %(now)s, NULL
                FROM moved m JOIN v USING (id)
                WHERE v.owner_id IS NOT NULL AND v.owner_id IS DISTINCT FROM v.previous_id
            )
            SELECT id FROM moved ORDER BY id
            """,
            {
                "ids": [lead.pk for lead in leads],
                "statuses": [lead.status for lead in leads],
                "sdrs": sdrs,
                "owners": owners,
                "previous": [lead.owner_id for lead in leads],
                "names": [f"{lead} ({Stage.MQL.label}) is yours now" for lead in leads],
                "now": timezone.now(),
                "by": by,
                "label": LABELS["qualify"],
                "lead": Stage.LEAD,
                "mql": Stage.MQL,
                "open": Status.OPEN,
                "assigned": Notification.Kind.ASSIGNED,
            },
        )
        qualified = [pk for (pk,) in cursor.fetchall()]
    transitions_follow(lead_ids=qualified)
    return qualified


class _RoundRobin:
    """What `rep_next(role)` returns for leads given one after the other, each counted in its
    rep's load: rep ids, None once every rep is away or full."""

    def __init__(self, role: Role) -> None:
        self.heap = [
            (rep["load"], rep["pk"], rep["capacity"])
            for rep in reps_by_load(role).filter(is_away=False).values("pk", "load", "capacity")
            if rep["capacity"] is None or rep["load"] < rep["capacity"]
        ]
        heapq.heapify(self.heap)

    def next(self) -> int | None:
        if not self.heap:
            return None
        load, pk, capacity = heapq.heappop(self.heap)
        if capacity is None or load + 1 < capacity:
            heapq.heappush(self.heap, (load + 1, pk, capacity))
        return pk


def _ae_or_next(name: str, ae: AbstractUser | None) -> AbstractUser:
    """The AE chosen, or with none the round-robin's next one."""
    if ae is None:
        ae = rep_next(Role.AE)
        if ae is None:
            raise TransitionError(name, ["every AE is away or at capacity: choose one by name"])
    _check_role(ae, Role.AE)
    return ae


def lead_convert(
    *, lead: Lead | int, by: AbstractUser, meeting_at: dt.datetime, ae: AbstractUser | None
) -> Lead:
    """Book the meeting of an MQL: it becomes an SQL of the AE (None: the round-robin's)."""
    ae = _ae_or_next("convert", ae)
    return lead_transition(lead=lead, name="convert", by=by, meeting_at=meeting_at, ae=ae)


def lead_book_meeting(
    *, lead: Lead | int, by: AbstractUser, meeting_at: dt.datetime, ae: AbstractUser | None
) -> Lead:
    """Book the meeting of an SQL still in contact attempt: it goes to the AE."""
    ae = _ae_or_next("book_meeting", ae)
    return lead_transition(lead=lead, name="book_meeting", by=by, meeting_at=meeting_at, ae=ae)


def lead_win(*, lead: Lead | int, by: AbstractUser, deal_value: Decimal | None) -> Lead:
    return lead_transition(lead=lead, name="win", by=by, deal_value=deal_value)


def lead_nurture(
    *, lead: Lead | int, by: AbstractUser | str, follow_up_on: dt.date, reason: str = ""
) -> Lead:
    return lead_transition(
        lead=lead, name="nurture", by=by, follow_up_on=follow_up_on, reason=reason
    )


def _check_role(user: AbstractUser | None, role: Role) -> None:
    if user is None or not user.is_active or not user.groups.filter(name=role.value).exists():
        raise TransitionError("assign", [f"{user} is not an active {role.label}"])


def attempt_problems(lead: Lead, user: AbstractUser) -> list[str]:
    """Say why `user` cannot log an attempt on this lead now; [] if they can."""
    if not user.has_perm("stages.work_lead"):
        return ["your role may not log attempts"]
    if lead.owner_id not in (None, user.pk) and not user.has_perm("stages.act_on_any_lead"):
        return ["this lead belongs to another rep"]
    if lead.stage not in (Stage.MQL, Stage.SQL):
        return ["attempts are logged on MQLs and SQLs"]
    return []


def attempt_log(
    *, lead: Lead | int, by: AbstractUser, channel: str, outcome: str, note: str = ""
) -> Attempt:
    """Log a contact attempt; the first one on an open MQL starts its contact-attempt status."""
    with transaction.atomic():
        if not isinstance(lead, Lead):
            lead = Lead.objects.select_related("contact").get(pk=lead)
        if problems := attempt_problems(lead, by):
            raise TransitionError("attempt", problems)
        if channel not in Attempt.Channel.values or outcome not in Attempt.Outcome.values:
            raise TransitionError("attempt", ["choose a channel and an outcome from the list"])
        attempt = Attempt.objects.create(
            lead=lead, by=by, channel=channel, outcome=outcome, note=note
        )
        if lead.stage == Stage.MQL and lead.status == Status.OPEN:
            lead_transition(lead=lead, name="start_attempt", by=by, reason="first attempt logged")
    return attempt


def contact_source_direct(
    *,
    by: AbstractUser,
    email: str,
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    job_title: str = "",
    phone: str = "",
    country: str = "",
    source: str = Source.OUTBOUND,
    owner: AbstractUser | None = None,
    meeting_at: dt.datetime | None = None,
    reason: str = "",
) -> Lead:
    """Enter a contact that sales sourced directly as SQL, owned by `owner` (default: `by`).

    An existing contact at Visitor or Lead stage is taken over; one further along is an error.
    """
    if not email.strip():
        raise TransitionError("source_direct", ["an email is required"])
    if source not in [s.value for s in (Source.OUTBOUND, Source.EVENT, Source.REFERRAL)]:
        raise TransitionError("source_direct", ["choose outbound, event or referral as source"])
    with transaction.atomic():
        contact = Contact.objects.by_email(email).first()
        if contact is None:
            contact = Contact.objects.create(email=email)
        for field, value in {
            "first_name": first_name,
            "last_name": last_name,
            "company": company,
            "job_title": job_title,
            "phone": phone,
            "country": country,
        }.items():
            if value:
                setattr(contact, field, value)
        contact.save()
        lead, _ = Lead.objects.get_or_create(contact=contact, defaults={"source": source})
        if lead.stage not in (Stage.VISITOR, Stage.LEAD):
            raise TransitionError(
                "source_direct",
                [f"{contact.email} is already a {lead.get_stage_display()} (lead #{lead.pk})"],
            )
        owner = owner or by
        owner_roles = set(owner.groups.values_list("name", flat=True))
        if not owner.is_active or not owner_roles & {Role.SDR.value, Role.AE.value}:
            raise TransitionError("source_direct", [f"{owner} is not an active SDR or AE"])
        Lead.objects.filter(pk=lead.pk).update(source=source)
        lead.source = source
        # The fit points of what sales typed in count at once, not at the contact's first event.
        from scoring.services import leads_schedule_rescore  # scoring builds on stages

        leads_schedule_rescore([lead.pk])
        return lead_transition(
            lead=lead,
            name="source_direct",
            by=by,
            owner=owner,
            active=Role.AE.value in owner_roles and Role.SDR.value not in owner_roles,
            meeting_at=meeting_at,
            reason=reason or f"sales-sourced ({source})",
        )


def lead_next_step(*, lead: Lead | int, by: AbstractUser, next_step: str) -> Lead:
    """Write down what the owner means to do next with this lead (empty clears it)."""
    with transaction.atomic():
        lead = _lead_locked(lead)
        if lead.stage not in (Stage.MQL, Stage.SQL):
            raise TransitionError("next_step", ["next steps are kept on MQLs and SQLs"])
        if lead.owner_id != by.pk and not by.has_perm("stages.act_on_any_lead"):
            raise TransitionError("next_step", ["this lead belongs to another rep"])
        lead.next_step = next_step.strip()
        lead.save(update_fields=["next_step"])
    return lead


PROFILE_FIELDS = [
    "first_name",
    "last_name",
    "company",
    "job_title",
    "seniority",
    "industry",
    "company_size",
    "phone",
    "country",
]


def profile_problems(lead: Lead, user: AbstractUser) -> list[str]:
    """Say why `user` cannot edit this lead's profile; [] if they can. Reps edit their own
    leads' profiles; marketers and admins any."""
    if not user.has_perm("stages.view_lead"):
        return ["your role cannot see leads"]
    if lead.owner_id != user.pk and not user.has_perm("stages.act_on_any_lead"):
        return ["this lead belongs to another rep" if lead.owner_id else "only its owner edits it"]
    return []


def lead_profile_update(*, lead: Lead | int, by: AbstractUser, **fields: Any) -> Lead:
    """Change the contact's profile (the fit fields) and rescore the lead: fit points and the
    fields the MQL and SQL rules require may have changed. Recorded as a note on the timeline."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    with transaction.atomic():
        pk = lead.pk if isinstance(lead, Lead) else lead
        lead = Lead.objects.select_related("contact").get(pk=pk)
        if problems := profile_problems(lead, by):
            raise TransitionError("profile", problems)
        contact = Contact.objects.select_for_update().get(pk=lead.contact_id)
        changed = {name: value for name, value in fields.items() if getattr(contact, name) != value}
        if not changed:
            return lead
        for name, value in changed.items():
            setattr(contact, name, value)
        contact.save(update_fields=[*changed, "updated_at"])
        lead.contact = contact
        labels = ", ".join(Contact._meta.get_field(name).verbose_name for name in changed)
        Note.objects.create(lead=lead, by=by, text=f"Profile changed: {labels}.")
        # Scoring depends on stages, not the other way round: import at call time.
        from scoring.services import leads_schedule_rescore

        leads_schedule_rescore([lead.pk])
    return lead


def lead_note_add(*, lead: Lead | int, by: AbstractUser, text: str) -> Note:
    """A note on the lead's timeline, by anyone who may see the lead."""
    if not by.has_perm("stages.view_lead"):
        raise TransitionError("note", ["your role cannot see leads"])
    if not text.strip():
        raise TransitionError("note", ["write something first"])
    pk = lead.pk if isinstance(lead, Lead) else lead
    return Note.objects.create(lead_id=pk, by=by, text=text.strip())

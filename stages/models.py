"""The lifecycle engine: a lead's stage and work status, moved only by transitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from leadflow.people.models import Contact
from leadflow.people.roles import LEAD_PERMISSIONS


class Stage(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    LEAD = "lead", "Lead"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    CUSTOMER = "customer", "Customer"
    DISQUALIFIED = "disqualified", "Disqualified"


class Status(models.TextChoices):
    NONE = "", "—"
    OPEN = "open", "Open"
    CONTACT_ATTEMPT = "contact_attempt", "Contact attempt"
    NURTURING = "nurturing", "Nurturing"
    ACTIVE = "active", "Active"


class DisqualifyReason(models.TextChoices):
    NOT_A_FIT = "not_a_fit", "Not a fit"
    NO_BUDGET = "no_budget", "No budget"
    NO_RESPONSE = "no_response", "No response"
    COMPETITOR = "competitor", "Chose a competitor"
    DUPLICATE = "duplicate", "Duplicate"
    SPAM = "spam", "Spam or fake"
    LOST = "lost", "Deal lost"


class Source(models.TextChoices):
    TRACKING = "tracking", "Website tracking"
    IMPORT = "import", "Import"
    OUTBOUND = "outbound", "Outbound"
    EVENT = "event", "Event"
    REFERRAL = "referral", "Referral"


SALES_SOURCES = (Source.OUTBOUND, Source.EVENT, Source.REFERRAL)

FIT_FIELDS = {
    "email": "email",
    "first_name": "first name",
    "last_name": "last name",
    "company": "company",
    "job_title": "job title",
    "phone": "phone",
    "country": "country",
    "seniority": "seniority",
    "industry": "industry",
    "company_size": "company size",
}
FIELD_CHOICES = list(FIT_FIELDS.items())

# The stage rules every check reads inside `StageRules.pinned()`: one read for a batch of leads.
_pinned_rules: ContextVar[StageRules | None] = ContextVar("stage_rules_pinned", default=None)


class StageRules(models.Model):
    """The admin-tuned rules of the stages. There is exactly one row."""

    mql_threshold = models.PositiveIntegerField(
        "MQL score threshold",
        default=60,
        help_text="A lead whose total score reaches this becomes an MQL.",
    )
    mql_min_behaviour = models.IntegerField(
        "MQL minimum behaviour score",
        null=True,
        blank=True,
        help_text="Empty: no minimum. The behaviour score must also reach this.",
    )
    mql_min_fit = models.IntegerField(
        "MQL minimum fit score",
        null=True,
        blank=True,
        help_text="Empty: no minimum. The fit score must also reach this.",
    )
    mql_required_fields = ArrayField(
        models.CharField(max_length=30, choices=FIELD_CHOICES),
        default=list,
        blank=True,
        help_text="Contact fields that must be known before a lead can be an MQL.",
    )
    sql_required_fields = ArrayField(
        models.CharField(max_length=30, choices=FIELD_CHOICES),
        default=list,
        blank=True,
        help_text="Contact fields that must be known before an MQL can be converted to SQL.",
    )
    auto_qualify = models.BooleanField(
        default=True, help_text="The scoring worker qualifies leads as MQL by itself."
    )
    mql_sla_hours = models.PositiveIntegerField(
        "first-touch SLA (hours)", default=24, help_text="Hours an SDR has to first touch an MQL."
    )
    updated_at = models.DateTimeField(auto_now=True)

    CACHE_KEY = "stages:rules:v1"
    DEFAULTS = {
        "mql_required_fields": ["company", "job_title"],
        "sql_required_fields": ["company", "job_title"],
    }

    class Meta:
        verbose_name = "stage rules"
        verbose_name_plural = "stage rules"

    def __str__(self) -> str:
        return "Stage rules"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
        cache.delete(self.CACHE_KEY)

    @classmethod
    def current(cls) -> StageRules:
        rules = _pinned_rules.get()
        if rules is not None:
            return rules
        rules = cache.get(cls.CACHE_KEY)
        if rules is None:
            rules, _ = cls.objects.get_or_create(pk=1, defaults=cls.DEFAULTS)
            cache.set(cls.CACHE_KEY, rules, 60)
        return rules

    @classmethod
    @contextmanager
    def pinned(cls) -> Iterator[StageRules]:
        """Read the rules once for every check inside (a batch of leads checked one by one)."""
        token = _pinned_rules.set(cls.current())
        try:
            yield cls.current()
        finally:
            _pinned_rules.reset(token)

    def score_problems(self, *, behaviour: int, fit: int) -> list[str]:
        """Why these scores do not meet the MQL rule, in words; [] if they do."""
        problems = []
        if behaviour + fit < self.mql_threshold:
            problems.append(
                f"score {behaviour + fit} is below the MQL threshold {self.mql_threshold}"
            )
        if self.mql_min_behaviour is not None and behaviour < self.mql_min_behaviour:
            problems.append(
                f"behaviour score {behaviour} is below the minimum {self.mql_min_behaviour}"
            )
        if self.mql_min_fit is not None and fit < self.mql_min_fit:
            problems.append(f"fit score {fit} is below the minimum {self.mql_min_fit}")
        return problems


class Condition:
    """A transition condition that can say, in words, why it does not hold."""

    def __init__(self, check: Callable[[Lead], list[str]]) -> None:
        self.check = check
        self.__name__ = check.__name__

    def __call__(self, lead: Lead) -> bool:
        return not self.check(lead)

    def problems(self, lead: Lead) -> list[str]:
        return self.check(lead)


def _missing(lead: Lead, fields: list[str]) -> list[str]:
    return [
        f"{FIT_FIELDS[f]} missing" for f in fields if getattr(lead.contact, f, None) in (None, "")
    ]


@Condition
def has_email(lead: Lead) -> list[str]:
    return [] if lead.contact.email else ["email missing"]


@Condition
def meets_mql_rule(lead: Lead) -> list[str]:
    rules = StageRules.current()
    # The stored total, not behaviour + fit: a marketer may qualify on the score the page shows.
    problems = rules.score_problems(behaviour=lead.score - lead.fit_score, fit=lead.fit_score)
    return problems + _missing(lead, rules.mql_required_fields)


@Condition
def has_sql_fields(lead: Lead) -> list[str]:
    return _missing(lead, StageRules.current().sql_required_fields)


@Condition
def is_mql(lead: Lead) -> list[str]:
    return [] if lead.stage == Stage.MQL else ["only an MQL has this status"]


@Condition
def is_sql(lead: Lead) -> list[str]:
    return [] if lead.stage == Stage.SQL else ["only an SQL has this status"]


@Condition
def has_sdr(lead: Lead) -> list[str]:
    if lead.sdr_id:
        return []
    return ["no SDR worked this lead: there is no one to hand it back to"]


def may(codename: str, *, own: bool = True) -> Callable[[Lead, Any], bool]:
    """Permission for a transition: the role's permission, and (for reps) their own lead."""

    def check(lead: Lead, user: Any) -> bool:
        if not user.has_perm(f"stages.{codename}"):
            return False
        if not own or lead.owner_id in (None, user.pk):
            return True
        return user.has_perm("stages.act_on_any_lead")

    check.codename = codename  # type: ignore[attr-defined]
    return check


class Lead(ConcurrentTransitionMixin, models.Model):
    """A contact's way through the funnel.

    The stage and the status are protected: only the transition methods below change them, and
    `ConcurrentTransitionMixin` makes a save fail when another transaction moved the lead since it
    was read, so two concurrent transitions can never both succeed.
    """

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="lead")
    stage = FSMField(default=Stage.VISITOR, choices=Stage, protected=True)
    status = FSMField(default=Status.NONE, choices=Status, protected=True, blank=True)
    source = models.CharField(max_length=20, choices=Source, default=Source.TRACKING)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
    )
    # The SDR who worked the lead before it went to an AE: a hand-back returns it to them.
    sdr = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    score = models.IntegerField(default=0)
    behaviour_score = models.IntegerField(default=0)
    fit_score = models.IntegerField(default=0)
    scored_at = models.DateTimeField(null=True, blank=True)
    # An MQL whose score fell below the MQL rule (decay, new rules): it stays an MQL, flagged,
    # until a person moves it. Any stage change clears it.
    is_cooling = models.BooleanField("cooling", default=False, db_default=False)
    last_event_at = models.DateTimeField(null=True, blank=True)

    # Attribution, set by the tracking ingest: where the lead came from the first time and the
    # last time (UTM fields, else the referrer). The times say which event gave them.
    first_touch_source = models.CharField(max_length=200, blank=True, default="", db_default="")
    first_touch_medium = models.CharField(max_length=200, blank=True, default="", db_default="")
    first_touch_campaign = models.CharField(max_length=200, blank=True, default="", db_default="")
    first_touch_at = models.DateTimeField(null=True, blank=True)
    last_touch_source = models.CharField(max_length=200, blank=True, default="", db_default="")
    last_touch_medium = models.CharField(max_length=200, blank=True, default="", db_default="")
    last_touch_campaign = models.CharField(max_length=200, blank=True, default="", db_default="")
    last_touch_at = models.DateTimeField(null=True, blank=True)

    meeting_at = models.DateTimeField(null=True, blank=True)
    # What the owner means to do next (an AE's deal: "send the proposal by Friday").
    next_step = models.CharField(max_length=200, blank=True, default="", db_default="")
    follow_up_on = models.DateField(null=True, blank=True)
    deal_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    disqualify_reason = models.CharField(
        max_length=20, choices=DisqualifyReason, blank=True, default=""
    )

    created_at = models.DateTimeField(default=timezone.now)
    stage_changed_at = models.DateTimeField(default=timezone.now)
    became_lead_at = models.DateTimeField(null=True, blank=True)
    became_mql_at = models.DateTimeField(null=True, blank=True)
    became_sql_at = models.DateTimeField(null=True, blank=True)
    became_customer_at = models.DateTimeField(null=True, blank=True)
    disqualified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [(c, d) for c, d in LEAD_PERMISSIONS.items() if c != "view_lead"]
        indexes = [
            # Each role queue reads one of these, newest first, with keyset pagination.
            models.Index(
                fields=["-became_mql_at", "-id"],
                condition=models.Q(stage="mql"),
                name="lead_mql_queue",
            ),
            models.Index(
                fields=["-score", "-id"],
                condition=models.Q(stage="mql"),
                name="lead_mql_queue_score",
            ),
            models.Index(
                fields=["owner", "stage", "status"],
                condition=models.Q(stage__in=["mql", "sql"]),
                name="lead_owner_work",
            ),
            # The API's list of a stage, newest first. (Not `db_index` on the field: that
            # makes two indexes, one of them for LIKE, which nothing reads; every lead written
            # outside its page writes an entry in each.)
            models.Index(fields=["stage", "-id"], name="lead_stage_id"),
            # The summary strip counts a week of new leads and MQLs by range.
            models.Index(fields=["became_lead_at"], name="lead_became_lead"),
            models.Index(fields=["became_mql_at"], name="lead_became_mql"),
        ]

    def __str__(self) -> str:
        return str(self.contact)

    def refresh_from_db(
        self,
        using: str | None = None,
        fields: Iterable[str] | None = None,
        from_queryset: models.QuerySet | None = None,
    ) -> None:
        # django-fsm reloads a protected field by lifting the protection of the field itself, for
        # every lead in every thread: in a threaded worker another thread's reload puts it back
        # mid-way and this one fails. Dropping this lead's own state lets the reload set it again
        # without touching the shared field.
        if fields is None:
            self._prefetched_objects_cache = {}
            deferred = self.get_deferred_fields()
            fields = [f.attname for f in self._meta.concrete_fields if f.attname not in deferred]
        fields = list(fields)
        states = {
            n: self.__dict__.pop(n)
            for n in ("stage", "status")
            if n in fields and n in self.__dict__
        }
        try:
            models.Model.refresh_from_db(self, using, fields, from_queryset)
        except Exception:
            self.__dict__.update(states)
            raise
        self._update_initial_state()

    # -- helpers for transitions (field changes only; no queries, no side effects) --

    def _enter(self, stage: Stage, status: Status = Status.NONE) -> None:
        now = timezone.now()
        self.stage_changed_at = now
        stamp = {
            Stage.LEAD: "became_lead_at",
            Stage.MQL: "became_mql_at",
            Stage.SQL: "became_sql_at",
            Stage.CUSTOMER: "became_customer_at",
            Stage.DISQUALIFIED: "disqualified_at",
        }.get(stage)
        if stamp:
            setattr(self, stamp, now)
        self.is_cooling = False
        # Statuses belong to a stage: every stage change resets it. The field is protected, so
        # it is set through the field itself, as a transition of the stage would.
        self._meta.get_field("status").set_state(self, status)
        self.follow_up_on = None

    # -- stage transitions --

    @transition(
        field=stage,
        source=Stage.VISITOR,
        target=Stage.LEAD,
        conditions=[has_email],
        permission=lambda lead, user: False,  # tracking and import only, never a person
    )
    def identify(self, *, by: Any = None, reason: str = "") -> None:
        self._enter(Stage.LEAD)

    @transition(
        field=stage,
        source=Stage.LEAD,
        target=Stage.MQL,
        conditions=[meets_mql_rule],
        permission=may("qualify_lead", own=False),
    )
    def qualify(self, *, by: Any = None, reason: str = "", owner: Any = None) -> None:
        self._enter(Stage.MQL, Status.OPEN)
        if owner is not None:
            self.owner = owner

    @transition(
        field=stage,
        source=Stage.MQL,
        target=Stage.SQL,
        conditions=[has_sql_fields],
        permission=may("convert_lead"),
    )
    def convert(
        self, *, by: Any = None, reason: str = "", meeting_at: dt.datetime, ae: Any
    ) -> None:
        if meeting_at is None or ae is None:
            raise ValueError("a meeting date and an AE are required to book a meeting")
        self._enter(Stage.SQL, Status.ACTIVE)
        # An unowned MQL is the booking SDR's: a hand-back must return it to someone.
        self.sdr_id = self.owner_id or getattr(by, "pk", None)
        self.owner = ae
        self.meeting_at = meeting_at

    @transition(
        field=stage,
        source=[Stage.VISITOR, Stage.LEAD],
        target=Stage.SQL,
        permission=may("source_direct_lead", own=False),
    )
    def source_direct(
        self,
        *,
        by: Any = None,
        reason: str = "",
        owner: Any,
        active: bool = False,
        meeting_at: dt.datetime | None = None,
    ) -> None:
        """Enter as SQL: `active` with an AE owner, else in contact attempt with an SDR."""
        if owner is None:
            raise ValueError("a sales-sourced contact needs an owner")
        self._enter(Stage.SQL, Status.ACTIVE if active else Status.CONTACT_ATTEMPT)
        if active and getattr(by, "pk", None) not in (None, getattr(owner, "pk", None)):
            # An SDR who sourced the contact for an AE keeps the credit and the hand-back.
            self.sdr_id = by.pk
        self.owner = owner
        self.meeting_at = meeting_at

    @transition(field=stage, source=Stage.SQL, target=Stage.CUSTOMER, permission=may("win_lead"))
    def win(self, *, by: Any = None, reason: str = "", deal_value: Decimal | None = None) -> None:
        self._enter(Stage.CUSTOMER)
        self.deal_value = deal_value

    @transition(
        field=stage,
        source=[Stage.LEAD, Stage.MQL, Stage.SQL],
        target=Stage.DISQUALIFIED,
        permission=may("disqualify_lead"),
    )
    def disqualify(self, *, by: Any = None, reason: str) -> None:
        if reason not in DisqualifyReason.values:
            raise ValueError(f"choose a reason from the list, not {reason!r}")
        self._enter(Stage.DISQUALIFIED)
        self.disqualify_reason = reason

    @transition(
        field=stage,
        source=[Stage.MQL, Stage.SQL, Stage.DISQUALIFIED],
        target=Stage.LEAD,
        permission=may("recycle_lead"),
    )
    def recycle(self, *, by: Any = None, reason: str) -> None:
        if not reason.strip():
            raise ValueError("a reason is required to recycle a lead")
        self._enter(Stage.LEAD)
        self.owner = None
        self.meeting_at = None

    # -- status transitions (the work inside a stage) --

    @transition(
        field=status,
        source=Status.OPEN,
        target=Status.CONTACT_ATTEMPT,
        conditions=[is_mql],
        permission=may("work_lead"),
    )
    def start_attempt(self, *, by: Any = None, reason: str = "") -> None:
        pass

    @transition(
        field=status,
        source=[Status.OPEN, Status.CONTACT_ATTEMPT],
        target=Status.NURTURING,
        conditions=[is_mql],
        permission=may("work_lead"),
    )
    def nurture(self, *, by: Any = None, reason: str = "", follow_up_on: dt.date) -> None:
        if follow_up_on is None:
            raise ValueError("a follow-up date is required")
        self.follow_up_on = follow_up_on

    @transition(
        field=status,
        source=Status.NURTURING,
        target=Status.OPEN,
        conditions=[is_mql],
        permission=may("work_lead"),
    )
    def reopen(self, *, by: Any = None, reason: str = "") -> None:
        self.follow_up_on = None

    @transition(
        field=status,
        source=Status.CONTACT_ATTEMPT,
        target=Status.ACTIVE,
        conditions=[is_sql, has_sql_fields],
        permission=may("work_lead"),
    )
    def book_meeting(
        self, *, by: Any = None, reason: str = "", meeting_at: dt.datetime, ae: Any
    ) -> None:
        if meeting_at is None or ae is None:
            raise ValueError("a meeting date and an AE are required to book a meeting")
        self.sdr_id = self.owner_id or getattr(by, "pk", None)
        self.owner = ae
        self.meeting_at = meeting_at

    @transition(
        field=status,
        source=Status.ACTIVE,
        target=Status.CONTACT_ATTEMPT,
        conditions=[is_sql, has_sdr],
        permission=may("hand_back_lead"),
    )
    def hand_back(self, *, by: Any = None, reason: str) -> None:
        if not reason.strip():
            raise ValueError("say why the lead goes back to the SDR")
        self.owner_id = self.sdr_id
        self.meeting_at = None


class LeadTransition(models.Model):
    """The audit trail: every transition of every lead, who or what made it, and why."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="transitions")
    name = models.CharField(max_length=30)
    field = models.CharField(max_length=10, default="stage")
    source = models.CharField(max_length=20)
    target = models.CharField(max_length=20)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who acted when no person did: "scoring", "tracking", "import", "schedule".
    actor = models.CharField(max_length=30, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["lead", "created_at"], name="transition_lead_time")]

    def __str__(self) -> str:
        return f"{self.name}: {self.source} → {self.target}"

    @property
    def actor_label(self) -> str:
        if self.by_id:
            return self.by.get_username()
        return self.actor or "system"


class Attempt(models.Model):
    """A logged contact attempt by a rep."""

    class Channel(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        SOCIAL = "social", "Social"

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", "No answer"
        LEFT_MESSAGE = "left_message", "Left a message"
        CONNECTED = "connected", "Connected"
        BAD_TIMING = "bad_timing", "Bad timing"
        WRONG_CONTACT = "wrong_contact", "Wrong contact"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="attempts")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel)
    outcome = models.CharField(max_length=20, choices=Outcome)
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["lead", "created_at"], name="attempt_lead_time")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.get_outcome_display()}"


class RepAvailability(models.Model):
    """How much new work the round-robin gives a rep: a capacity, and away or not."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="availability",
    )
    capacity = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most leads in work at once (nurtures aside) before the round-robin skips "
        "this rep. Empty: no limit.",
    )
    is_away = models.BooleanField(
        "away", default=False, help_text="The round-robin skips reps away."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "rep availability"

    def __str__(self) -> str:
        return f"{self.user}: {'away' if self.is_away else 'in'}, capacity {self.capacity or '∞'}"


class OwnerChange(models.Model):
    """Every change of a lead's owner: by an assignment, a transition, or the round-robin."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="owner_changes")
    previous = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=30, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["lead", "created_at"], name="owner_change_lead_time")]

    def __str__(self) -> str:
        return f"{self.previous or 'nobody'} → {self.owner or 'nobody'}"

    @property
    def actor_label(self) -> str:
        if self.by_id:
            return self.by.get_username()
        return self.actor or "system"


class Notification(models.Model):
    """A note in the app for one person: a lead assigned to them, an SLA about to run out."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Assigned to you"
        SLA_NEAR = "sla_near", "First touch due soon"
        SLA_BREACHED = "sla_breached", "First touch overdue"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind)
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]
        constraints = [
            # One SLA reminder of each kind per lead and person: the periodic task may run often.
            models.UniqueConstraint(
                fields=["user", "lead", "kind"],
                condition=models.Q(kind__in=["sla_near", "sla_breached"]),
                name="notification_sla_once",
            ),
        ]

    def __str__(self) -> str:
        return self.text


class Note(models.Model):
    """A person's note on a lead, shown on its timeline."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="notes")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["lead", "created_at"], name="note_lead_time")]

    def __str__(self) -> str:
        return self.text[:80]

"""A generated history for the report tests, made only through the real services.

Every stage change is a real transition, every attempt a real `attempt_log`, every merge a real
`contacts_merge`, each at its own moment under time-machine. Nothing is written to the journey
table by hand: what the reports read is what the receivers and services made of the history.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import time_machine
from django.utils import timezone

from leadflow.people.models import Contact, Visitor
from leadflow.people.services import contacts_merge
from stages.models import DisqualifyReason, Lead, Source, StageRules
from stages.services import TransitionError, attempt_log, lead_transition

# The story's clock: about five months of history before NOW.
NOW = dt.datetime(2026, 6, 30, 15, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=150)
SOURCES = ["google", "newsletter", "linkedin", "", '=HYPERLINK("x")', "<b>partner</b>"]
MEDIUMS = ["cpc", "email", "social", ""]
CAMPAIGNS = ["spring", "launch", "", "q2 webinar"]
RECYCLE_REASONS = ["bad timing", "re-engage next quarter", "new campaign"]
DISQUALIFY_MQL = ["not_a_fit", "no_budget", "no_response", "spam"]


class Story:
    def __init__(self, rng: random.Random, people: dict, seed: int) -> None:
        self.seed = seed
        self.rng = rng
        self.people = people
        self.sdrs = [people["sdr"], people["other_sdr"]]
        self.aes = [people["ae"], people["ae2"]]

    def at(self, when: dt.datetime, action, *args, **kwargs):
        with time_machine.travel(min(when, NOW), tick=False):
            try:
                return action(*args, **kwargs)
            except TransitionError:
                return None

    def gap(self, hours_low: float, hours_high: float) -> dt.timedelta:
        return dt.timedelta(hours=self.rng.uniform(hours_low, hours_high))

    def move(self, lead: Lead, name: str, by, **kwargs) -> Lead:
        return lead_transition(lead=lead.pk, name=name, by=by, **kwargs)

    def lead(self, n: int) -> Lead | None:
        rng = self.rng
        t = START + dt.timedelta(hours=rng.uniform(0, 150 * 24))
        with time_machine.travel(t, tick=False):
            contact = Contact.objects.create(
                email=f"p{self.seed}-{n}@example.com", company="Acme", job_title="CTO"
            )
            lead = Lead.objects.create(
                contact=contact,
                first_touch_source=rng.choice(SOURCES),
                first_touch_medium=rng.choice(MEDIUMS),
                first_touch_campaign=rng.choice(CAMPAIGNS),
                last_touch_source=rng.choice(SOURCES),
                last_touch_medium=rng.choice(MEDIUMS),
                last_touch_campaign=rng.choice(CAMPAIGNS),
            )
        roll = rng.random()
        if roll < 0.08:
            return self.direct(lead, t + self.gap(1, 48))
        t += self.gap(0.1, 72)
        if self.at(t, self.move, lead, "identify", "tracking") is None or t > NOW:
            return lead
        if roll < 0.13:  # sales takes over a known lead
            return self.direct(lead, t + self.gap(1, 200))
        for _round in range(3):
            if rng.random() < 0.45:
                return lead
            t += self.gap(1, 240)
            if t > NOW or not self.qualify(lead, t):
                return lead
            t, fate = self.work_mql(lead, t)
            if fate != "recycled":
                return lead
        return lead

    def qualify(self, lead: Lead, t: dt.datetime) -> bool:
        rng = self.rng
        behaviour, fit = rng.randint(20, 120), rng.randint(0, 60)
        threshold = StageRules.current().mql_threshold
        behaviour = max(behaviour, threshold - fit)
        Lead.objects.filter(pk=lead.pk).update(
            score=behaviour + fit, behaviour_score=behaviour, fit_score=fit
        )
        owner = rng.choice([*self.sdrs, None])
        return self.at(t, self.move, lead, "qualify", "scoring", owner=owner) is not None

    def work_mql(self, lead: Lead, t: dt.datetime) -> tuple[dt.datetime, str]:
        rng = self.rng
        owner = Lead.objects.get(pk=lead.pk).owner or rng.choice(self.sdrs)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            t += self.gap(0.5, 60)
            if t > NOW:
                return t, "open"
            self.at(t, attempt_log, lead=lead.pk, by=owner, channel="call", outcome="no_answer")
        t += self.gap(1, 120)
        if t > NOW:
            return t, "open"
        fate = rng.random()
        if fate < 0.4:
            ae = rng.choice(self.aes)
            meeting = t + dt.timedelta(days=2)
            self.at(t, self.move, lead, "convert", owner, meeting_at=meeting, ae=ae)
            self.work_sql(lead, t, ae)
            return t, "sql"
        if fate < 0.6:
            reason = rng.choice(DISQUALIFY_MQL)
            self.at(t, self.move, lead, "disqualify", owner, reason=reason)
            if rng.random() < 0.3:
                t += self.gap(24, 400)
                self.recycle(lead, t)
                return t, "recycled"
            return t, "disqualified"
        if fate < 0.8:
            self.recycle(lead, t)
            return t, "recycled"
        return t, "open"

    def recycle(self, lead: Lead, t: dt.datetime) -> None:
        reason = self.rng.choice(RECYCLE_REASONS)
        self.at(t, self.move, lead, "recycle", self.people["marketer"], reason=reason)

    def work_sql(self, lead: Lead, t: dt.datetime, ae) -> None:
        rng = self.rng
        t += self.gap(24, 900)
        if t > NOW:
            return
        fate = rng.random()
        if fate < 0.45:
            value = Decimal(rng.randrange(1000, 90000, 100))
            self.at(t, self.move, lead, "win", ae, deal_value=value)
        elif fate < 0.7:
            self.at(t, self.move, lead, "disqualify", ae, reason=DisqualifyReason.LOST)

    def direct(self, lead: Lead, t: dt.datetime) -> Lead:
        rng = self.rng
        if t > NOW:
            return lead
        if rng.random() < 0.5:
            sdr = rng.choice(self.sdrs)
            # As `contact_source_direct` does: the source first, then the transition.
            Lead.objects.filter(pk=lead.pk).update(source=Source.OUTBOUND)
            self.at(t, self.move, lead, "source_direct", sdr, owner=sdr)
            t += self.gap(2, 100)
            if t > NOW or rng.random() < 0.3:
                return lead
            self.at(t, attempt_log, lead=lead.pk, by=sdr, channel="email", outcome="connected")
            ae = rng.choice(self.aes)
            meeting = t + dt.timedelta(days=1)
            self.at(t, self.move, lead, "book_meeting", sdr, meeting_at=meeting, ae=ae)
        else:
            ae = rng.choice(self.aes)
            Lead.objects.filter(pk=lead.pk).update(source=Source.EVENT)
            self.at(t, self.move, lead, "source_direct", ae, owner=ae, active=True)
        self.work_sql(lead, t, ae)
        return lead


def history_build(*, seed: int, leads: int, people: dict, merges: int = 6) -> None:
    """Play `leads` made-up leads (and some merges of them) through the real services."""
    rng = random.Random(seed)
    story = Story(rng, people, seed)
    made = [story.lead(n) for n in range(leads)]
    # Merges: the duplicate's transitions and attempts join the survivor's lead.
    pairs = rng.sample(range(len(made)), k=2 * merges)
    for survivor, duplicate in zip(pairs[::2], pairs[1::2], strict=True):
        with time_machine.travel(NOW - dt.timedelta(days=rng.uniform(0, 20)), tick=False):
            contacts_merge(
                survivor_id=made[survivor].contact_id,
                duplicate_id=made[duplicate].contact_id,
                by=people["marketer"],
            )
    # Anonymous visitors: raw rows, as the tracking API stores them.
    Visitor.objects.bulk_create(
        Visitor(
            anonymous_id=f"anon-{seed}-{n}",
            first_seen_at=(seen := START + dt.timedelta(hours=rng.uniform(0, 150 * 24))),
            last_seen_at=seen,
        )
        for n in range(leads * 3)
    )
    assert timezone.now() > NOW  # the clock is back to the real one

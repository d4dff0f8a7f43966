"""`manage.py demo`: a team for every role and 90 days of a funnel in every stage, safe to rerun.

The demo is loaded once for the module (it takes seconds) inside a transaction that is rolled
back at the end; each test runs in its own savepoint on top of it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery

from leadflow.people.demo.load import EVENT_COLUMNS, event_row
from leadflow.people.demo.plan import plan_build
from leadflow.people.models import Contact, Visitor
from leadflow.tracking.messages import message_parse
from leadflow.tracking.models import Event, WriteKey
from scoring.models import ScoringRule
from scoring.services import lead_explain
from stages.models import Attempt, Lead, LeadTransition, Source, Stage, StageRules, Status

LEADS = 150
# username: role group. The second SDR and AE make round-robin and ownership visible.
TEAM = {
    "admin": "admin",
    "marketer": "marketer",
    "sdr": "sdr",
    "sdr2": "sdr",
    "ae": "ae",
    "ae2": "ae",
}


def _demo() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("demo", leads=LEADS, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    # Module fixtures run before the per-test cache cleaning: no stage rules cached by an earlier
    # test (whose row was rolled back) may steer this load.
    cache.delete(StageRules.CACHE_KEY)
    with django_db_blocker.unblock(), transaction.atomic():
        yield _demo()
        transaction.set_rollback(True)
    cache.delete(StageRules.CACHE_KEY)


@pytest.fixture
def output(demo, db) -> str:
    return demo[0]


def _counts() -> dict[str, object]:
    return {
        "users": get_user_model().objects.count(),
        "write keys": WriteKey.objects.count(),
        "rules": ScoringRule.objects.count(),
        "contacts": Contact.objects.count(),
        "visitors": Visitor.objects.count(),
        "events": Event.objects.count(),
        "transitions": LeadTransition.objects.count(),
        "attempts": Attempt.objects.count(),
        "stages": Counter(Lead.objects.values_list("stage", "status")),
    }


def test_every_planned_action_went_through(demo, db):
    assert demo[1] == ""


def test_every_role_has_a_demo_user_who_can_log_in_with_leadflow(output, client):
    for username, role in TEAM.items():
        user = get_user_model().objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert client.login(username=username, password="leadflow"), username
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser


def test_every_stage_and_every_work_status_has_leads(output):
    pairs = set(Lead.objects.values_list("stage", "status"))
    assert {stage for stage, _ in pairs} == set(Stage.values)
    assert {
        (Stage.MQL, Status.OPEN),
        (Stage.MQL, Status.CONTACT_ATTEMPT),
        (Stage.MQL, Status.NURTURING),
        (Stage.SQL, Status.CONTACT_ATTEMPT),
        (Stage.SQL, Status.ACTIVE),
    } <= pairs


def test_every_lead_past_visitor_is_where_its_last_transition_took_it(output):
    last = LeadTransition.objects.filter(lead=OuterRef("pk"), field="stage").order_by(
        "-created_at", "-id"
    )
    leads = Lead.objects.exclude(stage=Stage.VISITOR).annotate(
        last_target=Subquery(last.values("target")[:1])
    )
    assert leads.count() > LEADS * 0.9
    assert [(lead.pk, lead.stage) for lead in leads if lead.last_target != lead.stage] == []
    # Visitors were never moved: only tracking's identify takes them further.
    visitors = Lead.objects.filter(stage=Stage.VISITOR)
    assert not LeadTransition.objects.filter(lead__in=visitors).exists()


def test_history_spreads_over_ninety_days_with_system_and_human_actors(output):
    span = LeadTransition.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert span["last"] - span["first"] > dt.timedelta(days=60)
    actors = Counter(
        (t.name, t.actor or t.by.username) for t in LeadTransition.objects.select_related("by")
    )
    assert actors[("identify", "tracking")] > 0
    assert actors[("qualify", "scoring")] > 0
    assert {name for name, actor in actors if actor in ("sdr", "sdr2")} >= {
        "start_attempt",
        "nurture",
        "convert",
        "disqualify",
    }
    assert {name for name, actor in actors if actor in ("ae", "ae2")} >= {"win", "disqualify"}
    assert {name for name, actor in actors if actor == "marketer"} >= {"recycle", "disqualify"}
    assert set(Attempt.objects.values_list("by__username", flat=True)) == {"sdr", "sdr2"}
    # Stage dates follow the transitions that set them.
    for lead in Lead.objects.filter(stage=Stage.CUSTOMER):
        assert lead.became_sql_at < lead.became_customer_at == lead.stage_changed_at
        assert lead.deal_value and lead.deal_value > 0
    assert not Lead.objects.filter(stage=Stage.DISQUALIFIED, disqualify_reason="").exists()
    assert Lead.objects.filter(transitions__name="recycle", stage=Stage.LEAD).exists()


def test_the_funnel_narrows_and_sales_sources_enter_as_sql(output):
    anonymous = Visitor.objects.filter(contact__isnull=True).count()
    leads = Lead.objects.count()
    customers = Lead.objects.filter(stage=Stage.CUSTOMER).count()
    assert anonymous > 2 * leads
    assert 0 < customers < leads * 0.1
    direct = Lead.objects.exclude(source=Source.TRACKING)
    assert {lead.source for lead in direct} == {Source.OUTBOUND, Source.EVENT, Source.REFERRAL}
    firsts = LeadTransition.objects.filter(lead__in=direct).order_by("lead", "created_at", "id")
    assert {t.name for t in firsts.distinct("lead")} == {"source_direct"}


def test_events_are_segment_calls_with_campaigns(output):
    types = Counter(Event.objects.values_list("type", flat=True))
    assert set(types) == {"page", "track", "identify"}
    names = set(Event.objects.filter(type="track").values_list("name", flat=True))
    assert {
        "Whitepaper Downloaded",
        "Demo Requested",
        "Newsletter Subscribed",
        "Webinar Registered",
    } <= names
    campaign = Event.objects.filter(context__campaign__isnull=False).first().context["campaign"]
    assert set(campaign) == {"source", "medium", "name"}
    assert Event.objects.filter(url__contains="/pricing").exists()
    assert Event.objects.filter(url__contains="/blog/").exists()


def test_scores_are_explained_by_the_events_and_mqls_meet_the_rule(output):
    threshold = StageRules.current().mql_threshold
    for lead in Lead.objects.select_related("contact"):
        assert lead.score == lead_explain(lead=lead).total, lead.pk
    assert not Lead.objects.filter(stage=Stage.MQL, score__lt=threshold).exists()
    owners = Lead.objects.filter(stage=Stage.MQL).values("owner__username").annotate(n=Count("pk"))
    assert {row["owner__username"] for row in owners} == {"sdr", "sdr2"}


def test_running_it_again_changes_nothing_and_ends_with_the_write_key(output):
    before = _counts()
    again, errors = _demo()
    assert _counts() == before
    assert errors == ""
    key = WriteKey.objects.get(name="Demo website")
    assert output.splitlines()[-1] == again.splitlines()[-1] == f"Tracking write key: {key.key}"


def test_the_plan_is_the_same_for_the_same_day():
    end = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
    first, second = plan_build(leads=60, end=end), plan_build(leads=60, end=end)
    assert first.messages == second.messages
    assert first.steps == second.steps
    assert all(end - dt.timedelta(days=90) <= when <= end for when, _ in first.messages)


def test_bulk_loaded_events_are_what_the_tracking_api_would_store():
    end = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
    plan = plan_build(leads=60, end=end)
    for when, raw in plan.messages:
        parsed = message_parse(
            raw, type_=None, received_at=end, max_bytes=settings.TRACKING_MAX_MESSAGE_BYTES
        )
        expected = tuple(getattr(parsed, column) for column in EVENT_COLUMNS)
        assert event_row(when, raw) == expected, raw["messageId"]

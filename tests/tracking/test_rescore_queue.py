"""Ingest answers at once and queues one rescore per touched lead, after commit."""

from __future__ import annotations

from stages.models import Lead, LeadTransition, Stage, Status

from .messages import identify, message_id, page, typed

SCORE_LEADS = "scoring.tasks.score_leads"
# Queued by the worker's fold for the leads whose first touch it set (their journeys copy it).
REFRESH_JOURNEYS = "leadflow.reports.tasks.journeys_refresh_leads"


def _scored() -> set[int]:
    return set(Lead.objects.filter(scored_at__isnull=False).values_list("pk", flat=True))


def _identified(send, email: str, anonymous_id: str) -> Lead:
    send("/v1/identify", identify(email, anonymous_id))
    return Lead.objects.get(contact__email=email)


def test_a_batch_queues_one_rescore_for_all_the_leads_it_touched(
    db, send, task_runs, django_capture_on_commit_callbacks
):
    ann = _identified(send, "ann@example.com", "ann-laptop")
    bob = _identified(send, "bob@example.com", "bob-phone")
    batch = [typed("page", page(anonymous_id)) for anonymous_id in ["ann-laptop", "bob-phone"] * 30]
    batch += [typed("page", page(f"stranger-{n}")) for n in range(10)]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = send("/v1/batch", {"batch": batch})

    assert response.status_code == 200
    assert len(callbacks) == 2  # the request's, then the fold's
    assert [name for name, _ in task_runs] == [SCORE_LEADS, REFRESH_JOURNEYS]
    assert _scored() == {ann.pk, bob.pk}


def test_nothing_is_scored_before_the_events_are_committed(
    db, send, task_runs, django_capture_on_commit_callbacks
):
    lead = _identified(send, "ann@example.com", "ann-laptop")

    with django_capture_on_commit_callbacks(execute=False):
        response = send("/v1/page", page("ann-laptop"))

    assert response.json() == {"success": True}
    assert task_runs == []
    assert Lead.objects.get(pk=lead.pk).scored_at is None


def test_anonymous_events_queue_no_rescore(db, send, task_runs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send("/v1/batch", {"batch": [typed("page", page(f"anon-{n}")) for n in range(20)]})

    assert (callbacks, task_runs) == ([], [])


def test_duplicates_alone_queue_no_rescore(db, send, task_runs, django_capture_on_commit_callbacks):
    _identified(send, "ann@example.com", "ann-laptop")
    batch = [typed("page", page("ann-laptop"))]
    with django_capture_on_commit_callbacks(execute=True):
        send("/v1/batch", {"batch": batch})
    task_runs.clear()

    with django_capture_on_commit_callbacks(execute=True):
        send("/v1/batch", {"batch": batch})

    assert task_runs == []


def test_the_demo_journey_in_one_batch_makes_an_mql_once_committed(
    db, send, demo_rules, sdr, task_runs, django_capture_on_commit_callbacks
):
    visitor = "ada-browser"
    batch = [
        typed("page", page(visitor, url="https://www.example.com/")),
        typed(
            "identify",
            identify("Ada@Example.com", visitor, company="Engines Ltd", title="Head of Ops"),
        ),
        {
            "type": "track",
            "messageId": message_id(),
            "anonymousId": visitor,
            "event": "Whitepaper Downloaded",
        },
        *(typed("page", page(visitor, url="https://www.example.com/pricing")) for _ in range(3)),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert send("/v1/batch", {"batch": batch}).status_code == 200

    lead = Lead.objects.get(contact__email="ada@example.com")
    assert [name for name, _ in task_runs if name == SCORE_LEADS] == [SCORE_LEADS]
    assert (lead.stage, lead.status, lead.owner) == (Stage.MQL, Status.OPEN, sdr)
    assert lead.events.count() == 6
    assert lead.score == 5 + 5 + 10 + 25 + 30 + 4
    assert list(
        LeadTransition.objects.filter(lead=lead).order_by("pk").values_list("name", "actor")
    ) == [
        ("identify", "tracking"),
        ("qualify", "scoring"),
    ]


def test_a_burst_of_every_type_queues_one_rescore_per_lead(
    db, send, task_runs, django_capture_on_commit_callbacks
):
    from .messages import alias, group, screen

    ann = _identified(send, "ann@example.com", "ann-laptop")
    task_runs.clear()
    batch = []
    for _ in range(10):
        batch += [
            typed("page", page("ann-laptop")),
            typed("screen", screen("Home", "ann-laptop")),
            typed("group", {**group(), "anonymousId": "ann-laptop"}),
            typed("track", {"messageId": message_id(), "anonymousId": "ann-phone", "event": "E"}),
        ]
    batch.append(typed("alias", {**alias("u-bob", "bob-phone")}))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert send("/v1/batch", {"batch": batch}).status_code == 200

    bob = Lead.objects.get(contact__user_id="u-bob")
    assert len(callbacks) == 2  # the request's, then the fold's
    assert [name for name, _ in task_runs] == [SCORE_LEADS, REFRESH_JOURNEYS]
    assert _scored() == {ann.pk, bob.pk}

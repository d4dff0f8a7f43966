"""A real Celery worker scores bursts of events: few recomputes, exact scores, MQLs on the rule."""

from __future__ import annotations

import base64
import random
import re
import time
import uuid

import pytest

from scoring.services import RESCORE_QUEUE, lead_explain
from stages.models import Lead, Stage, StageRules

pytestmark = [pytest.mark.redis]

SITE = "https://www.example.com"
LEADS = 50
EVENTS = 1000
BURST = 100  # events a /v1/batch call, as the Segment libraries batch them


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _message(kind: str, anonymous_id: str, **fields) -> dict:
    return {"type": kind, "messageId": str(uuid.uuid4()), "anonymousId": anonymous_id, **fields}


def _interest(rng: random.Random, anonymous_id: str) -> dict:
    """One event of a visit: mostly pages, some pricing, now and then a white paper."""
    roll = rng.random()
    if roll < 0.05:
        return _message("track", anonymous_id, event="Whitepaper Downloaded")
    if roll < 0.08:
        return _message("track", anonymous_id, event="Unsubscribed")
    path = "/pricing" if roll < 0.35 else rng.choice(["/", "/features", "/blog/scoring", "/docs"])
    return _message("page", anonymous_id, properties={"url": f"{SITE}{path}"})


def _wait(condition, *, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_bursts_of_events_are_scored_by_few_recomputes_to_the_exact_score(
    client, celery_worker, write_key, demo_rules, sdr, other_sdr
):
    rng = random.Random(4)
    people = [f"visitor-{n}" for n in range(LEADS)]
    identifies = [
        _message(
            "identify",
            anonymous_id,
            traits={
                "email": f"person{n}@example.com",
                # Two in three fit (company and title known): only they may become MQLs.
                **({"company": f"Company {n}", "title": "Analyst"} if n % 3 else {}),
            },
        )
        for n, anonymous_id in enumerate(people)
    ]
    events = [_interest(rng, rng.choice(people)) for _ in range(EVENTS - LEADS)]
    messages = identifies + events
    for start in range(0, len(messages), BURST):
        response = client.post(
            "/v1/batch",
            {"batch": messages[start : start + BURST]},
            content_type="application/json",
            headers=_auth(write_key.key),
        )
        assert response.status_code == 200, response.content
        assert response.json() == {"success": True}
        time.sleep(rng.uniform(0, 0.3))  # bursts, not a steady stream

    leads = _wait(
        lambda: (
            (found := list(Lead.objects.filter(contact__email__startswith="person")))
            and len(found) == LEADS
            and found
        ),
        what="every identified lead",
    )
    assert sum(lead.events.count() for lead in leads) == EVENTS

    def all_current() -> bool:
        if RESCORE_QUEUE.pending() or RESCORE_QUEUE.queued():
            return False
        for lead in Lead.objects.select_related("contact").filter(pk__in=[x.pk for x in leads]):
            if lead.scored_at is None or lead.last_event_at > lead.scored_at:
                return False
        return True

    _wait(all_current, what="every score to be recomputed after its last event")

    threshold = StageRules.current().mql_threshold
    crossed = 0
    for lead in Lead.objects.select_related("contact").filter(pk__in=[x.pk for x in leads]):
        explained = lead_explain(lead=lead, now=lead.scored_at)
        assert (lead.score, lead.behaviour_score, lead.fit_score) == (
            explained.total,
            explained.behaviour,
            explained.fit,
        ), lead.contact.email
        fits = bool(lead.contact.company and lead.contact.job_title)
        if explained.total >= threshold and fits:
            assert (lead.stage, lead.is_cooling) == (Stage.MQL, False), lead.contact.email
        elif lead.stage == Stage.MQL:
            # It crossed the rule, then an unsubscribe took it back below: an MQL, cooling.
            assert lead.is_cooling, lead.contact.email
        else:
            assert lead.stage == Stage.LEAD, lead.contact.email
        if lead.stage == Stage.MQL:
            crossed += 1
            assert lead.owner in (sdr, other_sdr)
            assert lead.transitions.get(name="qualify").actor == "scoring"
    assert crossed >= 5  # the bursts did make MQLs

    log = celery_worker.log_path.read_text()
    recomputes = len(re.findall(r"Task scoring\.tasks\.score_leads\[[^\]]+\] succeeded", log))
    assert 0 < recomputes <= EVENTS // 20, f"{recomputes} recomputes for {EVENTS} events"

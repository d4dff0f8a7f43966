"""An outage of Redis or the broker loses no accepted event: the sweep scores it later."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings

from scoring.tasks import sweep_stale_scores
from stages.models import Lead, Stage
from tests.factories import lead_at
from tests.tracking.messages import basic

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    }
}


@pytest.fixture
def ada(db, demo_rules, sdr) -> Lead:
    lead = lead_at(Stage.LEAD, email="ada@example.com")
    lead.contact.user_id = "ada"
    lead.contact.save()
    return lead


def _track(client, write_key, message_id: str, **fields):
    return client.post(
        "/v1/track",
        {"userId": "ada", "messageId": message_id, **fields},
        content_type="application/json",
        headers={"Authorization": basic(write_key.key)},
    )


def test_events_are_accepted_while_redis_is_down_and_scored_by_the_sweep(
    client, write_key, ada, django_capture_on_commit_callbacks
):
    with (
        override_settings(CACHES=DEAD_REDIS),
        django_capture_on_commit_callbacks(execute=True) as queued,
    ):
        response = _track(client, write_key, "m1", event="Whitepaper Downloaded")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    ada.refresh_from_db()
    assert ada.events.count() == 1
    assert len(queued) == 1  # the rescore was attempted after commit, and failed quietly
    assert ada.scored_at is None

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stale_scores() == 1
    ada.refresh_from_db()
    assert ada.behaviour_score == 25
    assert sweep_stale_scores() == 0  # now current: nothing left to sweep

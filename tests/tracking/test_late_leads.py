"""A call that races its browser's identify still ends on the lead the identify made."""

from __future__ import annotations

import threading

from django.db import connection
from django.utils import timezone

from leadflow.tracking.messages import message_parse
from leadflow.tracking.models import Event
from leadflow.tracking.services import _late_leads_attach
from stages.models import Stage
from tests.activity import folded
from tests.factories import lead_at

from .messages import track


def test_an_event_stored_before_its_lead_was_visible_is_given_it(db, write_key):
    # What the store leaves when the identify commits while it waits for the visitor's lock:
    # the contact is known (the locked visitor row is read as it is now), the new lead is not.
    lead = lead_at(Stage.LEAD)
    now = timezone.now()
    raw = track(context={"page": {"url": "https://x.test/", "referrer": "https://www.bing.com/"}})
    message = message_parse(raw, type_="track", received_at=now, max_bytes=32768)
    Event.objects.create(
        source=write_key,
        message_id=message.message_id,
        type="track",
        name=message.name,
        context=message.context,
        occurred_at=now,
        received_at=now,
    )
    lead_ids = [None]

    _late_leads_attach(write_key, [message], [lead.contact_id], lead_ids, [0], now)

    assert lead_ids == [lead.pk]
    assert Event.objects.get().lead == lead
    lead = folded(lead)
    assert (lead.last_event_at, lead.first_touch_source) == (now, "bing")


def test_a_track_sent_while_its_browser_identifies_goes_to_the_new_lead(
    transactional_db, write_key
):
    from django.test import Client

    from leadflow.people.models import Visitor

    from .messages import basic, identify

    Client().post(
        "/v1/page",
        {"messageId": "p1", "anonymousId": "laptop", "properties": {"url": "https://x.test/"}},
        content_type="application/json",
        headers={"Authorization": basic(write_key.key)},
    )
    # The identify holds the visitor's row (as its transaction would) while the track arrives.
    track_sent = threading.Event()

    def send_track() -> None:
        try:
            track_sent.set()
            Client().post(
                "/v1/track",
                {"messageId": "t1", "anonymousId": "laptop", "event": "Clicked"},
                content_type="application/json",
                headers={"Authorization": basic(write_key.key)},
            )
        finally:
            connection.close()

    from django.db import transaction

    from leadflow.tracking.services import events_ingest

    with transaction.atomic():
        Visitor.objects.select_for_update().get(anonymous_id="laptop")
        thread = threading.Thread(target=send_track)
        thread.start()
        track_sent.wait(5)
        threading.Event().wait(0.5)  # the track's statement is now waiting for the lock
        events_ingest(
            source=write_key,
            raws=[identify("ann@example.com", "laptop")],
            type_="identify",
            received_at=timezone.now(),
        )
    thread.join(30)

    lead = Event.objects.get(message_id="p1").lead
    assert lead is not None
    assert Event.objects.get(message_id="t1").lead == lead

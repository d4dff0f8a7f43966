"""Requests that arrive together for the same person still make one contact and one lead."""

from __future__ import annotations

import json
import threading

from django.db import connection
from django.test import Client

from leadflow.people.models import Contact
from leadflow.tracking.models import Event
from stages.models import Lead, LeadTransition

from .messages import basic, identify, page, typed

THREADS = 8


def _post_together(bodies: list[tuple[str, dict]], key: str) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []
    lock = threading.Lock()

    def post(path: str, body: dict) -> None:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.post(
                path,
                data=json.dumps(body),
                content_type="application/json",
                headers={"Authorization": basic(key)},
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=body) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_the_same_email_identified_from_eight_devices_at_once_is_one_lead(
    transactional_db, write_key
):
    bodies = [
        ("/v1/identify", identify("Zoe@Example.com" if n % 2 else "zoe@example.com", f"dev-{n}"))
        for n in range(THREADS)
    ]

    statuses = _post_together(bodies, write_key.key)

    assert statuses == [200] * THREADS
    contact = Contact.objects.get()
    assert Lead.objects.get().contact == contact
    assert LeadTransition.objects.filter(name="identify").count() == 1
    assert Event.objects.filter(lead__contact=contact).count() == THREADS


def test_the_same_batch_retried_at_once_is_stored_once(transactional_db, write_key):
    batch = {"batch": [typed("page", page(f"anon-{n % 3}")) for n in range(50)]}

    statuses = _post_together([("/v1/batch", batch)] * THREADS, write_key.key)

    assert statuses == [200] * THREADS
    assert Event.objects.count() == 50


def test_a_batch_of_every_type_replayed_three_times_at_once_is_stored_once(
    transactional_db, write_key
):
    from .messages import alias, group, screen, track

    context = {"page": {"url": "https://shop.example/", "referrer": "https://www.google.com/"}}
    batch = {
        "batch": [
            typed("page", page("anon-1", context=context)),
            typed("identify", identify("ivy@example.com", "anon-1")),
            typed("screen", screen("Home", "anon-1")),
            typed("group", group("g", "Initech")),
            typed("track", track("Trial Started", context=context)),
            typed("alias", alias("u-ivy", "anon-1")),
            *(typed("page", page(f"stranger-{n}")) for n in range(20)),
        ]
    }

    statuses = _post_together([("/v1/b", batch)] * 3, write_key.key)

    assert statuses == [200] * 3
    assert Event.objects.count() == 26
    lead = Lead.objects.select_related("contact").get()
    assert (lead.contact.email, lead.contact.user_id, lead.contact.company) == (
        "ivy@example.com",
        "u-ivy",
        "Initech",
    )
    assert (lead.first_touch_source, lead.last_touch_medium) == ("google", "organic")
    assert LeadTransition.objects.filter(name="identify").count() == 1

"""A group call names the company of a known person; an anonymous one is only stored."""

from __future__ import annotations

import pytest

from leadflow.people.models import Contact
from leadflow.tracking.models import Event
from stages.models import Lead

from .messages import group, identify, message_id, page, typed


def test_a_group_call_of_a_known_visitor_sets_their_company(db, send):
    send("/v1/identify", identify("ann@example.com", "anon-1"))

    send("/v1/group", group("g-1", "Initech"))

    assert Contact.objects.get().company == "Initech"
    assert Lead.objects.get().events.filter(type="group").count() == 1


def test_a_group_call_by_user_id_sets_the_company_of_that_user(db, send):
    send("/v1/identify", {**identify("bob@example.com", "anon-2"), "userId": "u-bob"})

    send(
        "/v1/group",
        {"messageId": message_id(), "userId": "u-bob", "groupId": "g", "traits": {"name": "Hooli"}},
    )

    assert Contact.objects.get().company == "Hooli"


def test_a_group_call_of_an_anonymous_visitor_is_stored_and_names_no_one(db, send):
    response = send("/v1/group", group("g-1", "Initech"))

    assert response.status_code == 200
    assert Event.objects.get().lead is None
    assert not Contact.objects.exists()


@pytest.mark.parametrize("traits", [{}, {"industry": "Retail"}, {"name": ["x"]}])
def test_a_group_call_without_a_company_name_keeps_the_company(db, send, traits):
    send("/v1/identify", identify("cat@example.com", "anon-1", company="Acme"))

    response = send("/v1/group", {**group(), "traits": traits})

    assert response.status_code == 200
    assert Contact.objects.get().company == "Acme"


def test_the_last_group_call_of_a_batch_wins(db, send):
    send("/v1/identify", identify("dan@example.com", "anon-1"))
    batch = [typed("group", group("a", "Alpha")), typed("group", group("b", "Beta"))]

    send("/v1/batch", {"batch": batch})

    assert Contact.objects.get().company == "Beta"


def test_a_replayed_group_call_does_not_undo_a_later_change(db, send):
    send("/v1/identify", identify("eve@example.com", "anon-1"))
    first = group("a", "Alpha")
    send("/v1/group", first)
    send("/v1/group", group("b", "Beta"))

    send("/v1/group", first)  # a library's retry of the first call

    assert Contact.objects.get().company == "Beta"


def test_a_group_call_before_identify_in_the_same_batch_names_the_person(db, send):
    batch = [
        typed("page", page("anon-1")),
        typed("group", group("g", "Umbrella")),
        typed("identify", identify("fay@example.com", "anon-1")),
    ]

    send("/v1/batch", {"batch": batch})

    assert Contact.objects.get().company == "Umbrella"

"""Alias links a previous id (anonymous, or a former user id) to a user id: its history follows."""

from __future__ import annotations

from leadflow.people.models import Contact, Visitor
from leadflow.tracking.models import Event
from stages.models import Lead, Stage

from .messages import alias, identify, message_id, page, track, typed


def _track_as_user(send, user_id: str, event: str = "Login") -> None:
    send("/v1/track", {"messageId": message_id(), "userId": user_id, "event": event})


def test_alias_gives_an_anonymous_history_to_the_user_and_later_visits_follow(db, send):
    send("/v1/identify", {**identify("ann@example.com", "laptop"), "userId": "u-ann"})
    send("/v1/page", page("phone"))
    send("/v1/page", page("phone", url="https://www.example.com/pricing"))

    response = send("/v1/alias", alias("u-ann", "phone"))

    assert response.status_code == 200
    lead = Lead.objects.get()
    assert not Event.objects.filter(lead__isnull=True).exists()
    assert lead.events.count() == 4  # identify, two page views, the alias itself
    assert Visitor.objects.get(anonymous_id="phone").contact == lead.contact

    send("/v1/page", page("phone", url="https://www.example.com/docs"))

    assert lead.events.count() == 5


def test_alias_to_an_unknown_user_makes_a_contact_that_is_still_a_visitor(db, send):
    send("/v1/page", page("anon-1"))

    send("/v1/alias", alias("u-new", "anon-1"))

    lead = Lead.objects.select_related("contact").get()
    assert (lead.contact.user_id, lead.contact.email, lead.stage) == ("u-new", "", Stage.VISITOR)
    assert lead.events.count() == 2

    send("/v1/identify", identify("new@example.com", "anon-1"))

    assert Lead.objects.get().stage == Stage.LEAD
    assert Contact.objects.count() == 1


def test_alias_from_a_former_user_id_moves_the_contact_to_the_new_id(db, send):
    send("/v1/identify", {**identify("bob@example.com", "laptop"), "userId": "old-id"})

    send("/v1/alias", alias("new-id", "old-id"))
    _track_as_user(send, "new-id")

    contact = Contact.objects.get()
    assert contact.user_id == "new-id"
    assert contact.lead.events.count() == 3


def test_calls_under_a_user_id_before_anyone_had_it_join_when_it_is_aliased(db, send):
    _track_as_user(send, "u-early", "Report Exported")
    send("/v1/page", page("anon-1"))

    send("/v1/alias", alias("u-early", "anon-1"))

    lead = Lead.objects.get()
    assert set(lead.events.values_list("type", flat=True)) == {"track", "page", "alias"}


def test_calls_under_a_user_id_before_anyone_had_it_join_when_it_is_identified(db, send):
    _track_as_user(send, "u-7", "Report Exported")

    send("/v1/identify", {**identify("cat@example.com", "anon-3"), "userId": "u-7"})

    assert Lead.objects.get().events.count() == 2


def test_alias_between_two_known_people_merges_nobody(db, send):
    send("/v1/identify", {**identify("dan@example.com", "dan-laptop"), "userId": "u-dan"})
    send("/v1/identify", {**identify("eve@example.com", "eve-laptop"), "userId": "u-eve"})

    response = send("/v1/alias", alias("u-dan", "u-eve"))

    assert response.status_code == 200
    assert Contact.objects.count() == 2
    eve = Lead.objects.get(contact__email="eve@example.com")
    assert eve.events.count() == 1
    assert Visitor.objects.get(anonymous_id="eve-laptop").contact == eve.contact


def test_alias_in_a_batch_attaches_the_calls_around_it(db, send):
    send("/v1/identify", {**identify("fay@example.com", "laptop"), "userId": "u-fay"})
    batch = [
        typed("page", page("tablet")),
        typed("alias", alias("u-fay", "tablet")),
        typed("track", track("Video Played", anonymousId="tablet")),
    ]

    assert send("/v1/batch", {"batch": batch}).status_code == 200

    assert Lead.objects.get().events.count() == 4
    assert not Event.objects.filter(lead__isnull=True).exists()


def test_a_replayed_alias_is_stored_once_and_changes_nothing_more(db, send):
    send("/v1/page", page("anon-1"))
    message = alias("u-1", "anon-1")

    send("/v1/alias", message)
    send("/v1/alias", message)

    assert Event.objects.filter(type="alias").count() == 1
    assert Contact.objects.count() == 1

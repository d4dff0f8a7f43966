"""Who sent the events: anonymous visitors, their identification, and one contact per email."""

from __future__ import annotations

from leadflow.people.models import Contact, Visitor
from leadflow.tracking.models import Event
from stages.models import Lead, LeadTransition, Stage
from tests.activity import folded

from .messages import identify, message_id, page, track, typed


def test_anonymous_page_views_belong_to_no_lead(db, send):
    send("/v1/page", page("anon-1"))
    send("/v1/page", page("anon-1", url="https://www.example.com/pricing"))

    assert Event.objects.filter(lead__isnull=True).count() == 2
    assert not Contact.objects.exists()
    assert not Lead.objects.exists()
    assert Visitor.objects.get().anonymous_id == "anon-1"


def test_identify_turns_the_visitor_into_a_lead_and_takes_their_history(db, send):
    send("/v1/page", page("anon-1"))
    send("/v1/page", page("anon-1", url="https://www.example.com/pricing"))
    send("/v1/page", page("someone-else"))

    response = send(
        "/v1/identify",
        identify("Ann@Example.com", "anon-1", firstName="Ann", company="Acme", title="CTO"),
    )

    assert response.status_code == 200
    lead = Lead.objects.select_related("contact").get()
    contact = lead.contact
    assert (contact.email, contact.first_name, contact.company, contact.job_title) == (
        "ann@example.com",
        "Ann",
        "Acme",
        "CTO",
    )
    assert lead.stage == Stage.LEAD
    assert lead.events.count() == 3  # two page views and the identify call itself
    assert Event.objects.get(anonymous_id="someone-else").lead is None
    assert Visitor.objects.get(anonymous_id="anon-1").contact == contact
    record = LeadTransition.objects.get(lead=lead)
    assert (record.name, record.actor, record.by) == ("identify", "tracking", None)
    assert record.reason.startswith("identify ")


def test_later_events_of_the_identified_visitor_go_to_their_lead(db, send):
    send("/v1/identify", identify("ann@example.com", "anon-1"))

    send("/v1/page", page("anon-1"))
    send("/v1/track", track("Whitepaper Downloaded"))

    lead = Lead.objects.get()
    assert lead.events.count() == 3
    assert lead.last_event_at is None  # until the worker folds the ingest's activity
    assert folded(lead).last_event_at is not None


def test_an_email_in_any_case_is_one_contact(db, send):
    send("/v1/identify", identify("Ann@X.com", "laptop"))
    send("/v1/identify", identify("ann@x.com", "phone"))
    send("/v1/identify", identify("  ANN@X.COM ", "tablet"))

    contact = Contact.objects.get()
    assert contact.email == "ann@x.com"
    assert Lead.objects.count() == 1
    assert set(Visitor.objects.values_list("contact", flat=True)) == {contact.pk}
    assert LeadTransition.objects.filter(name="identify").count() == 1


def test_two_devices_of_one_person_share_one_lead_and_its_history(db, send):
    send("/v1/page", page("laptop"))
    send("/v1/page", page("phone"))

    send("/v1/batch", {
        "batch": [
            typed("identify", identify("Bob@Example.com", "laptop")),
            typed("identify", identify("bob@example.com", "phone")),
        ]
    })  # fmt: skip

    lead = Lead.objects.get()
    assert lead.events.count() == 4


def test_a_user_id_finds_the_contact_again_without_an_email(db, send):
    send("/v1/identify", {**identify("carol@example.com", "anon-1"), "userId": "user-9"})

    send("/v1/track", {"messageId": message_id(), "userId": "user-9", "event": "Login"})

    lead = Lead.objects.get()
    assert lead.events.count() == 2
    assert lead.contact.user_id == "user-9"


def test_identify_with_only_a_user_id_knows_the_person_but_keeps_them_a_visitor(db, send):
    send("/v1/identify", {"messageId": message_id(), "userId": "user-1", "traits": {}})

    lead = Lead.objects.get()
    assert (lead.stage, lead.contact.email) == (Stage.VISITOR, "")

    send("/v1/identify", {**identify("dan@example.com", "anon-7"), "userId": "user-1"})

    lead = Lead.objects.select_related("contact").get()
    assert (lead.stage, lead.contact.email) == (Stage.LEAD, "dan@example.com")


def test_traits_without_email_or_user_id_attach_nothing(db, send):
    response = send(
        "/v1/identify",
        {"messageId": message_id(), "anonymousId": "anon-1", "traits": {"company": "Acme"}},
    )

    assert response.status_code == 200
    assert not Contact.objects.exists()
    assert Event.objects.get().lead is None


def test_identify_in_a_batch_attaches_the_pages_before_and_after_it(db, send):
    batch = [
        typed("page", page("anon-1")),
        typed("identify", identify("eve@example.com", "anon-1")),
        typed("page", page("anon-1", url="https://www.example.com/pricing")),
    ]

    send("/v1/batch", {"batch": batch})

    lead = Lead.objects.get()
    assert lead.events.count() == 3
    assert not Event.objects.filter(lead__isnull=True).exists()


def test_a_later_identify_updates_the_contact_fields(db, send):
    send("/v1/identify", identify("fay@example.com", "anon-1", title="Analyst"))

    send(
        "/v1/identify",
        identify("fay@example.com", "anon-1", jobTitle="Head of Data", company={"name": "Acme"}),
    )

    contact = Contact.objects.get()
    assert (contact.job_title, contact.company) == ("Head of Data", "Acme")
    assert contact.traits["jobTitle"] == "Head of Data"


def test_identify_does_not_move_a_lead_that_is_further_down_the_funnel(db, send, sdr):
    from tests.factories import lead_at

    lead = lead_at(Stage.MQL, owner=sdr, email="gus@example.com")

    send("/v1/identify", identify("GUS@example.com", "anon-1"))

    stored = Lead.objects.get()
    assert (stored.pk, stored.stage, stored.owner) == (lead.pk, Stage.MQL, sdr)
    assert stored.events.count() == 1


def test_an_email_and_a_user_id_of_two_different_contacts_are_not_a_server_error(db, send):
    send("/v1/identify", identify("hal@example.com", "laptop"))
    send("/v1/identify", {"messageId": message_id(), "userId": "user-5", "traits": {}})

    response = send("/v1/identify", {**identify("hal@example.com", "phone"), "userId": "user-5"})

    assert response.status_code == 200
    by_email = Contact.objects.get(email="hal@example.com")
    assert Contact.objects.get(user_id="user-5") != by_email
    assert by_email.user_id == ""  # two people, or one with two records: never merged blindly
    assert Event.objects.filter(anonymous_id="phone").count() == 1

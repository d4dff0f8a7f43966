"""Notifications: assignments and first-touch SLAs reach the rep once, and reading clears them."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from stages.models import Lead, Notification, Stage, StageRules, Status
from stages.notifications import sla_notify, unread_count
from stages.services import lead_assign, lead_transition
from tests.factories import lead_at


def _mql_since(hours: float, owner) -> Lead:
    lead = lead_at(Stage.MQL, owner=owner)
    Lead.objects.filter(pk=lead.pk).update(became_mql_at=timezone.now() - dt.timedelta(hours=hours))
    Notification.objects.filter(lead=lead).delete()  # the assignment's own note
    return lead


def test_the_sla_task_warns_when_a_quarter_is_left_then_when_overdue_once_each(db, sdr):
    sla = StageRules.current().mql_sla_hours
    fresh = _mql_since(sla * 0.5, sdr)
    near = _mql_since(sla * 0.8, sdr)
    late = _mql_since(sla + 1, sdr)
    touched = _mql_since(sla + 1, sdr)
    lead_transition(lead=touched, name="start_attempt", by=sdr)

    assert sla_notify() == 2
    assert sla_notify() == 0  # nothing twice
    kinds = dict(Notification.objects.values_list("lead_id", "kind"))
    assert kinds == {near.pk: Notification.Kind.SLA_NEAR, late.pk: Notification.Kind.SLA_BREACHED}
    assert fresh.pk not in kinds

    Lead.objects.filter(pk=near.pk).update(
        became_mql_at=timezone.now() - dt.timedelta(hours=sla + 2)
    )
    assert sla_notify() == 1
    assert Notification.objects.filter(lead=near, kind="sla_breached").exists()
    assert Lead.objects.get(pk=touched.pk).status == Status.CONTACT_ATTEMPT


def test_the_bell_counts_unread_notes_and_opening_the_lead_reads_them(
    marketer, sdr, other_sdr, client
):
    lead = lead_at(Stage.MQL, owner=sdr)
    client.force_login(other_sdr)
    assert unread_count(other_sdr) == 0

    lead_assign(lead=lead, by=marketer, owner=other_sdr)

    page = client.get(reverse("my_work"))
    assert 'aria-label="Notifications: 1 unread"' in page.content.decode()
    listing = client.get(reverse("notifications"))
    assert f"{lead} (MQL) is yours now, from marketer" in listing.content.decode()

    client.get(reverse("lead_detail", args=[lead.pk]))
    assert unread_count(other_sdr) == 0
    assert 'aria-label="Notifications"' in client.get(reverse("my_work")).content.decode()


def test_mark_all_read(sdr, marketer, client):
    for _ in range(3):
        lead = lead_at(Stage.MQL)
        Lead.objects.filter(pk=lead.pk).update(owner=None)
        lead_assign(lead=lead.pk, by=marketer, owner=sdr)
    client.force_login(sdr)

    response = client.post(reverse("notifications_read"), follow=True)

    assert "3 notifications marked as read." in response.content.decode()
    assert unread_count(sdr) == 0


def test_notifications_are_private(sdr, other_sdr, marketer, client):
    lead = lead_at(Stage.MQL)
    Lead.objects.filter(pk=lead.pk).update(owner=None)
    lead_assign(lead=lead.pk, by=marketer, owner=sdr)
    client.force_login(other_sdr)

    assert "is yours now" not in client.get(reverse("notifications")).content.decode()
    client.post(reverse("notifications_read"))
    assert unread_count(sdr) == 1


def test_anonymous_visitors_go_to_the_login_page(client, db):
    for url in (reverse("notifications"),):
        assert client.get(url)["Location"].startswith(reverse("login"))
    assert client.post(reverse("notifications_read"))["Location"].startswith(reverse("login"))

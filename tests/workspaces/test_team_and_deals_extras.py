"""The team page (capacity and away flags for the round-robin), an AE's next steps, the SDR's
SLA badges and priority order, and the keyboard shortcut markup."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from stages.models import Lead, RepAvailability, Stage, StageRules
from stages.services import sdr_next
from tests.factories import lead_at


def test_a_marketer_sets_an_sdrs_capacity_and_away_flag(marketer, sdr, other_sdr, client_for):
    client = client_for(marketer)

    page = client.get(reverse("team"))
    assert page.status_code == 200 and "sdr2" in page.content.decode()
    response = client.post(
        reverse("team_availability", args=[sdr.pk]), {"capacity": "5", "is_away": "on"}
    )

    assert response.status_code == 302
    availability = RepAvailability.objects.get(user=sdr)
    assert (availability.capacity, availability.is_away) == (5, True)
    assert sdr_next() == other_sdr


def test_a_rep_sets_their_own_away_flag_but_not_their_capacity(sdr, client_for):
    response = client_for(sdr).post(
        reverse("team_availability", args=[sdr.pk]), {"capacity": "500", "is_away": "on"}
    )

    assert response.status_code == 302
    availability = RepAvailability.objects.get(user=sdr)
    assert (availability.capacity, availability.is_away) == (None, True)


def test_a_rep_may_not_change_another_reps_availability(sdr, other_sdr, client_for):
    response = client_for(sdr).post(
        reverse("team_availability", args=[other_sdr.pk]), {"is_away": "on"}
    )

    assert response.status_code == 403
    assert not RepAvailability.objects.exists()


@pytest.mark.parametrize("capacity", ["0", "-3", "many"])
def test_a_bad_capacity_is_a_form_error(marketer, sdr, client_for, capacity):
    response = client_for(marketer).post(
        reverse("team_availability", args=[sdr.pk]), {"capacity": capacity}
    )

    assert response.status_code == 400
    assert not RepAvailability.objects.exists()


def test_an_ae_writes_the_next_step_of_a_deal(ae, sdr, client_for):
    deal = lead_at(Stage.SQL, owner=sdr, ae=ae)
    client = client_for(ae)

    client.post(
        reverse("lead_do", args=[deal.pk, "next_step"]),
        {"next_step": "Send the proposal <b>Friday</b>", "from": "deals"},
    )

    deal.refresh_from_db()
    assert deal.next_step == "Send the proposal <b>Friday</b>"
    page = client.get(reverse("my_deals")).content.decode()
    assert "Send the proposal &lt;b&gt;Friday&lt;/b&gt;" in page


def test_another_ae_cannot_write_the_next_step(ae, make_user, sdr, client_for):
    deal = lead_at(Stage.SQL, owner=sdr, ae=ae)
    other = make_user("ae2", "ae")

    response = client_for(other).post(
        reverse("lead_do", args=[deal.pk, "next_step"]), {"next_step": "mine now"}
    )

    assert response.status_code == 409
    deal.refresh_from_db()
    assert deal.next_step == ""


def test_open_mqls_past_their_sla_come_first_with_a_badge(sdr, client_for):
    hours = StageRules.current().mql_sla_hours
    high = lead_at(Stage.MQL, owner=sdr, email="high@example.com")
    late = lead_at(Stage.MQL, owner=sdr, email="late@example.com")
    due = lead_at(Stage.MQL, owner=sdr, email="due@example.com")
    now = timezone.now()
    Lead.objects.filter(pk=high.pk).update(score=500, became_mql_at=now)
    Lead.objects.filter(pk=late.pk).update(
        score=1, became_mql_at=now - dt.timedelta(hours=hours + 1)
    )
    Lead.objects.filter(pk=due.pk).update(
        score=2, became_mql_at=now - dt.timedelta(hours=hours * 0.9)
    )

    response = client_for(sdr).get(reverse("my_work"))

    emails = dict(Lead.objects.values_list("pk", "contact__email"))
    order = [emails[row["pk"]] for row in response.context["sections"][0]["rows"]]
    assert order == ["late@example.com", "high@example.com", "due@example.com"]
    html = response.content.decode()
    assert "Past SLA" in html
    assert "First touch due in" in html  # the badge's title; the badge itself fits its column:
    assert ">Due in " in html


def test_the_row_actions_carry_their_keyboard_shortcuts(sdr, ae, client_for):
    lead_at(Stage.MQL, owner=sdr)
    lead_at(Stage.SQL, owner=sdr, ae=ae)

    work = client_for(sdr).get(reverse("my_work")).content.decode()
    deals = client_for(ae).get(reverse("my_deals")).content.decode()

    for key in "abmd":
        assert f'data-key="{key}" aria-keyshortcuts="{key}"' in work
    for key in "nwlr":
        assert f'data-key="{key}" aria-keyshortcuts="{key}"' in deals
    assert 'id="shortcuts"' in work and 'id="shortcuts"' in deals

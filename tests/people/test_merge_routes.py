"""Merging from the lead page and over the API: role-checked, validated, recorded."""

from __future__ import annotations

from django.urls import reverse

from leadflow.api.models import ApiToken
from leadflow.people.models import Contact, ContactMerge
from stages.models import Lead, Stage, Status
from tests.factories import lead_at


def test_a_marketer_merges_a_duplicate_from_the_lead_page(client, marketer, sdr, ae):
    page_lead = lead_at(Stage.LEAD, email="ada@work.example")
    duplicate = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae, email="ada@home.example")
    client.force_login(marketer)

    response = client.post(
        reverse("contact_merge", args=[page_lead.pk]), {"email": "ADA@home.example "}
    )

    # The SQL was further along, so it is the lead the page now shows.
    assert response.status_code == 302
    assert response.url == reverse("lead_detail", args=[duplicate.pk])
    assert Lead.objects.get(pk=duplicate.pk).contact_id == page_lead.contact_id
    assert ContactMerge.objects.get().merged_email == "ada@home.example"
    page = client.get(response.url)
    assert "was merged into" in page.content.decode()


def test_the_lead_page_shows_a_form_error_for_an_unknown_or_same_email(client, marketer):
    lead = lead_at(Stage.LEAD, email="ada@work.example")
    client.force_login(marketer)
    url = reverse("contact_merge", args=[lead.pk])

    unknown = client.post(url, {"email": "nobody@example.com"})
    same = client.post(url, {"email": "ada@work.example"})
    garbled = client.post(url, {"email": "not an email"})

    assert unknown.status_code == same.status_code == garbled.status_code == 400
    assert "No contact has this email." in unknown.content.decode()
    assert "That is this contact" in same.content.decode()
    assert Contact.objects.count() == 1


def test_reps_cannot_merge_from_the_page(client, sdr):
    lead, other = lead_at(Stage.LEAD), lead_at(Stage.LEAD)
    client.force_login(sdr)

    response = client.post(reverse("contact_merge", args=[lead.pk]), {"email": other.contact.email})

    assert response.status_code == 403
    assert Contact.objects.count() == 2
    assert (
        "Merge a duplicate"
        not in client.get(reverse("lead_detail", args=[lead.pk])).content.decode()
    )


def test_an_admin_merges_over_the_api_with_a_token(client, admin_user):
    lead, other = lead_at(Stage.MQL), lead_at(Stage.LEAD)
    token = ApiToken.issue(user=admin_user)

    response = client.post(
        reverse("api-lead-merge", args=[lead.pk]),
        {"email": other.contact.email},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["stage"]) == (lead.pk, "mql")
    assert not Contact.objects.filter(pk=other.contact_id).exists()


def test_the_api_refuses_bad_merges_with_clear_errors(client, marketer, sdr):
    lead = lead_at(Stage.LEAD)
    url = reverse("api-lead-merge", args=[lead.pk])
    marketer_token, sdr_token = ApiToken.issue(user=marketer), ApiToken.issue(user=sdr)

    def post(body, token, raw=None):
        return client.post(
            url, raw if raw is not None else body, content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip

    assert post({"email": "x@example.com"}, sdr_token).status_code == 403
    assert post(None, marketer_token, raw=b"{oops").status_code == 400
    missing = post({"email": "x@example.com"}, marketer_token)
    assert missing.status_code == 400
    assert missing.json()["fields"]["email"] == ["No contact has this email."]
    nowhere = client.post(
        reverse("api-lead-merge", args=[10**9]),
        {},
        content_type="application/json",
        headers={"Authorization": f"Bearer {marketer_token}"},
    )
    assert nowhere.status_code == 404

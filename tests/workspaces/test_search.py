"""Global search by name, email and company."""

from __future__ import annotations

from django.urls import reverse

from stages.models import Stage
from tests.factories import lead_at


def test_search_finds_leads_by_name_email_or_company(marketer, client_for):
    ada = lead_at(
        Stage.MQL,
        email="ada@engines.example",
        first_name="Ada",
        last_name="Lovelace",
        company="Engines",
    )
    lead_at(Stage.LEAD, email="bob@other.example", first_name="Bob", company="Other")
    client = client_for(marketer)

    for query in ("lovelace", "ADA@", "engines", "ada engines"):
        response = client.get(reverse("search"), {"q": query})
        assert response.context["results"] == [ada], query

    assert b"ada@engines.example" in response.content


def test_every_word_must_match(marketer, client_for):
    lead_at(Stage.MQL, first_name="Ada", company="Engines")

    response = client_for(marketer).get(reverse("search"), {"q": "ada nowhere"})

    assert response.context["results"] == []
    assert b"No lead matches" in response.content


def test_an_empty_search_invites_a_query(sdr, client_for):
    response = client_for(sdr).get(reverse("search"), {"q": "  "})

    assert response.status_code == 200
    assert b"Find anyone" in response.content


def test_search_shows_at_most_50_results(ae, client_for):
    for _ in range(52):
        lead_at(Stage.LEAD, company="Acme")

    response = client_for(ae).get(reverse("search"), {"q": "acme"})

    assert len(response.context["results"]) == 50
    assert b"Showing the first 50" in response.content


def test_search_matches_the_start_of_an_email_domain_in_any_case(marketer, client_for):
    ada = lead_at(Stage.MQL, email="ada@analytical-engines.example", company="AE Ltd")

    for query in ("analytical", "ANALYTICAL-ENG", "ada@ANAL"):
        response = client_for(marketer).get(reverse("search"), {"q": query})
        assert response.context["results"] == [ada], query
    # The middle of a word is not a start: prefixes keep search on the indexes.
    response = client_for(marketer).get(reverse("search"), {"q": "lytical"})
    assert response.context["results"] == []

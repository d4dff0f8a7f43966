from __future__ import annotations

from django.urls import reverse

from stages.models import Stage
from tests.factories import lead_at


def test_the_server_publishes_an_openapi_schema_of_every_api_route(client):
    schema = client.get(reverse("api-openapi")).json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/leads/",
        "/api/v1/leads/{pk}/",
        "/api/v1/leads/{pk}/transitions/",
        "/api/v1/leads/{pk}/merge/",
    }
    lead_fields = schema["components"]["schemas"]["Lead"]["required"]
    assert {"id", "email", "stage", "status", "score", "owner"} <= set(lead_fields)


def test_a_lead_answer_has_every_field_the_schema_requires(client, marketer):
    lead = lead_at(Stage.MQL)
    client.force_login(marketer)
    schema = client.get(reverse("api-openapi")).json()["components"]["schemas"]["Lead"]
    answer = client.get(reverse("api-lead", args=[lead.pk])).json()
    assert set(schema["required"]) <= set(answer)
    assert set(answer) <= set(schema["properties"])


def test_the_transition_history_lists_each_step_with_its_actor(client, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)
    client.force_login(sdr)
    history = client.get(reverse("api-lead-transitions", args=[lead.pk])).json()["results"]
    assert [(step["name"], step["source"], step["target"], step["by"]) for step in history] == [
        ("identify", "visitor", "lead", "fixture"),
        ("qualify", "lead", "mql", "fixture"),
    ]


def test_the_transition_history_is_closed_to_users_without_a_role(client, outsider):
    lead = lead_at(Stage.MQL)
    client.force_login(outsider)
    assert client.get(reverse("api-lead-transitions", args=[lead.pk])).status_code == 403

"""Who may open which page: each workspace for its role, a 403 for the others."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stages.models import Stage
from tests.factories import lead_at

PAGES = {
    "mql_queue": {"marketer", "admin"},
    "my_work": {"sdr", "admin"},
    "my_deals": {"ae", "admin"},
    "lead_new": {"sdr", "ae", "admin"},
    "search": {"marketer", "sdr", "ae", "admin"},
    "team": {"marketer", "sdr", "ae", "admin"},
    # Everyone signed in has their own notifications, even without a role.
    "notifications": {"marketer", "sdr", "ae", "admin", "outsider"},
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["marketer", "sdr", "ae", "admin", "outsider"])
def test_each_page_opens_for_its_roles_and_is_forbidden_to_the_others(
    page, role, personas, client_for
):
    response = client_for(personas[role]).get(reverse(page))

    if role in PAGES[page]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert b"not for your role" in response.content


@pytest.mark.parametrize("page", [*PAGES, "home"])
def test_an_anonymous_visitor_is_sent_to_the_login_page(page, client, db):
    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_lead_page_sends_an_anonymous_visitor_to_the_login_page(client, db):
    lead = lead_at(Stage.MQL)

    response = client.get(reverse("lead_detail", args=[lead.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "target"),
    [("marketer", "mql_queue"), ("sdr", "my_work"), ("ae", "my_deals"), ("admin", "mql_queue")],
)
def test_home_sends_each_role_to_its_workspace(role, target, personas, client_for):
    response = client_for(personas[role]).get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse(target)


def test_a_user_without_a_role_gets_a_friendly_403_at_home(outsider, client_for):
    response = client_for(outsider).get(reverse("home"))

    assert response.status_code == 403
    assert b"no role yet" in response.content


def test_a_user_without_a_role_cannot_open_a_lead(outsider, client_for):
    lead = lead_at(Stage.MQL)

    response = client_for(outsider).get(reverse("lead_detail", args=[lead.pk]))

    assert response.status_code == 403


def test_the_login_page_renders_and_logs_a_user_in(client, sdr):
    page = client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "sdr", "password": "leadflow-test"})

    assert page.status_code == 200
    assert b'for="id_username"' in page.content
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_a_wrong_password_shows_an_error_on_the_login_page(client, sdr):
    response = client.post(reverse("login"), {"username": "sdr", "password": "nope"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_logging_out_takes_a_post_and_ends_the_session(sdr, client_for):
    client = client_for(sdr)

    refused = client.get(reverse("logout"))
    response = client.post(reverse("logout"))

    assert refused.status_code == 405
    assert response.status_code == 302
    assert client.get(reverse("my_work")).status_code == 302


def test_the_navigation_shows_only_the_workspaces_of_the_role(sdr, client_for):
    html = client_for(sdr).get(reverse("my_work")).content.decode()

    assert reverse("my_work") in html
    assert reverse("mql_queue") not in html
    assert reverse("my_deals") not in html
    assert 'name="q"' in html


def test_every_post_form_carries_a_csrf_token(sdr, client_for):
    lead_at(Stage.MQL, owner=sdr)

    html = client_for(sdr).get(reverse("my_work")).content.decode()

    assert html.count('method="post"') == html.count('name="csrfmiddlewaretoken"')
    assert '"X-CSRFToken"' in html


# The queue's writes: (URL name, who may post; the others get a 403 and nothing changes).
QUEUE_POSTS = {
    "mql_bulk": {"marketer", "admin"},
    "saved_view_create": {"marketer", "admin"},
    "notifications_read": {"marketer", "sdr", "ae", "admin", "outsider"},
}


@pytest.mark.parametrize("name", QUEUE_POSTS)
@pytest.mark.parametrize("role", ["marketer", "sdr", "ae", "admin", "outsider"])
def test_the_queue_writes_are_for_the_queue_roles(name, role, personas, client_for):
    lead = lead_at(Stage.MQL)
    data = {"leads": [lead.pk], "action": "disqualify", "disqualify_reason": "spam"}
    data |= {"name": "Mine", "query": "sort=score"}

    response = client_for(personas[role]).post(reverse(name), data)

    lead.refresh_from_db()
    if role in QUEUE_POSTS[name]:
        assert response.status_code == 302
    else:
        assert response.status_code == 403
        assert lead.stage == Stage.MQL


@pytest.mark.parametrize("name", [*QUEUE_POSTS, "saved_view_delete"])
def test_the_queue_writes_send_an_anonymous_visitor_to_the_login_page(name, client, db):
    url = reverse(name, args=[1]) if name == "saved_view_delete" else reverse(name)

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))

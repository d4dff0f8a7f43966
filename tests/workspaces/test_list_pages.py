"""The SDR's and the AE's lists: a page at a time (no silent cap), each action form once a page."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone

from leadflow.workspaces import views
from stages import selectors
from stages.models import Lead, Stage, Status
from tests.factories import lead_at

HTMX = {"HTTP_HX_REQUEST": "true"}


def _ids(rows) -> list[int]:
    return [row["pk"] for row in rows]


def _pages(select) -> list[int]:
    """Every id, page after page, following the cursors."""
    seen, cursor = [], None
    while True:
        page = select(cursor)
        seen += [row["id"] for row in page.items]
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


def test_each_work_list_pages_in_its_own_order_without_gaps_or_repeats(sdr, other_sdr):
    now = timezone.now()
    open_ = [lead_at(Stage.MQL, owner=sdr) for _ in range(5)]
    trying = [lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr) for _ in range(3)]
    nurtured = [lead_at(Stage.MQL, Status.NURTURING, owner=sdr) for _ in range(3)]
    lead_at(Stage.MQL, owner=other_sdr)
    # Ties on the score and on the time: the id must break them.
    for n, lead in enumerate(open_):
        Lead.objects.filter(pk=lead.pk).update(
            score=70 + n % 2, became_mql_at=now - dt.timedelta(hours=100 if n == 4 else 1)
        )
    Lead.objects.filter(pk__in=[lead.pk for lead in trying]).update(score=80, became_mql_at=now)
    Lead.objects.filter(pk__in=[lead.pk for lead in nurtured]).update(
        follow_up_on=timezone.localdate()
    )

    def section(key):
        first = selectors.sdr_work(user=sdr)[key].items
        paged = _pages(
            lambda cursor: selectors.sdr_work(
                user=sdr, cursors={key: cursor}, sections=[key], size=2
            )[key]
        )
        assert paged == [row["id"] for row in first]
        return paged

    open_ids = section("open")
    # Past the SLA first, then the highest score, then the oldest, then the lowest id.
    assert open_ids[0] == open_[4].pk
    assert open_ids[1:] == [open_[1].pk, open_[3].pk, open_[0].pk, open_[2].pk]
    assert section("attempting") == sorted(lead.pk for lead in trying)
    assert section("nurture_due") == sorted(lead.pk for lead in nurtured)


def test_a_malformed_cursor_reads_as_the_first_page(sdr):
    leads = [lead_at(Stage.MQL, owner=sdr) for _ in range(2)]

    for cursor in ("x", "1_2", "1_2_3_4_5", "9" * 30 + "_1_1_1", "_"):
        page = selectors.sdr_work(user=sdr, cursors={"open": cursor}, sections=["open"])
        assert {row["id"] for row in page["open"].items} == {lead.pk for lead in leads}


def test_a_long_list_shows_a_page_and_loads_the_next_one_inline(sdr, client_for, monkeypatch):
    monkeypatch.setattr(views, "LIST_SIZE", 3)
    leads = [lead_at(Stage.MQL, owner=sdr) for _ in range(5)]
    client = client_for(sdr)

    page = client.get(reverse("my_work"))

    html = page.content.decode()
    first = next(s for s in page.context["sections"] if s["key"] == "open")
    assert len(first["rows"]) == 3
    assert 'id="count-open">3+<' in html
    cursor = first["next_cursor"]
    assert f'hx-get="?section=open&amp;after={cursor}"' in html

    more = client.get(reverse("my_work"), {"section": "open", "after": cursor}, **HTMX)

    rest = more.context["rows"]
    assert more.status_code == 200
    assert len(rest) == 2
    assert set(_ids(first["rows"]) + _ids(rest)) == {lead.pk for lead in leads}
    # The next "Show more" replaces this one: none is left.
    assert '<p class="card-foot list-more" id="more-open" hx-swap-oob="true"></p>' in (
        more.content.decode()
    )
    assert "<h1>" not in more.content.decode()


def test_without_htmx_show_more_is_the_page_with_that_list_further_on(sdr, client_for, monkeypatch):
    monkeypatch.setattr(views, "LIST_SIZE", 2)
    leads = [lead_at(Stage.MQL, owner=sdr) for _ in range(3)]
    cursor = selectors.sdr_work(user=sdr, size=1)["open"].next_cursor

    response = client_for(sdr).get(reverse("my_work"), {"section": "open", "after": cursor})

    html = response.content.decode()
    shown = next(s for s in response.context["sections"] if s["key"] == "open")
    assert "<h1>My work</h1>" in html
    assert len(shown["rows"]) == 2
    assert not shown["next_cursor"]
    assert set(_ids(shown["rows"])) < {lead.pk for lead in leads}
    assert "Back to the start" in html


def test_an_action_on_a_row_past_the_first_page_keeps_the_row_in_place(
    sdr, client_for, monkeypatch
):
    monkeypatch.setattr(views, "LIST_SIZE", 1)
    leads = [lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr) for _ in range(3)]
    first = selectors.sdr_work(user=sdr, size=1)["attempting"].items[0]["id"]
    later = next(lead for lead in leads if lead.pk != first)

    response = client_for(sdr).post(
        reverse("lead_do", args=[later.pk, "attempt"]),
        {"from": "work", "section": "attempting", "channel": "call", "outcome": "no_answer"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert later.attempts.count() == 1
    assert html.lstrip().startswith(f'<tr id="row-{later.pk}"')
    assert 'id="count-attempting" hx-swap-oob="true">1+<' in html


def test_my_deals_page_on_and_load_the_next_one_inline(sdr, ae, client_for, monkeypatch):
    monkeypatch.setattr(views, "LIST_SIZE", 1)
    deals = [lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae) for _ in range(3)]
    client = client_for(ae)
    first = client.get(reverse("my_deals"))
    cursor = first.context["next_cursor"]
    assert 'id="count-deals">1+<' in first.content.decode()

    more = client.get(reverse("my_deals"), {"after": cursor}, **HTMX)
    page = client.get(reverse("my_deals"), {"after": cursor})

    assert len(more.context["rows"]) == 1
    assert "<h1>" not in more.content.decode()
    assert _ids(page.context["deals"]) == _ids(more.context["rows"])
    last = client.get(reverse("my_deals"), {"after": more.context["next_cursor"]}, **HTMX)
    seen = _ids(first.context["deals"]) + _ids(more.context["rows"]) + _ids(last.context["rows"])
    assert seen == [row["id"] for row in selectors.ae_deals(user=ae).items]
    assert set(seen) == {deal.pk for deal in deals}
    assert last.context["next_cursor"] is None
    assert "Back to the start" in page.content.decode()


def test_each_action_form_is_on_the_page_once_however_many_rows(sdr, ae, client_for):
    client = client_for(sdr)
    lead_at(Stage.MQL, owner=sdr)
    few = client.get(reverse("my_work")).content.decode()
    for _ in range(4):
        lead_at(Stage.MQL, owner=sdr)
        lead_at(Stage.MQL, Status.NURTURING, owner=sdr)
        lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr)
    Lead.objects.filter(status=Status.NURTURING).update(follow_up_on=timezone.localdate())

    html = client.get(reverse("my_work")).content.decode()

    assert html.count("<form") == few.count("<form")
    for form in ("attempt", "nurture", "reopen", "convert", "book_meeting", "disqualify"):
        assert html.count(f'<template id="form-{form}">') == 1
    # Every row keeps its buttons, each with its shortcut.
    assert html.count('data-form="attempt"') == html.count('data-key="a"') == 13
    assert html.count('data-form="reopen"') == html.count('data-form="book_meeting"') == 4
    # The forms are for no lead: app.js points them at the row that opens one.
    assert 'action="/leads/0/do/attempt/"' in html
    assert 'id="l0-attempt-channel"' in html


def test_the_deal_forms_are_on_the_page_once_with_lose_as_its_own(sdr, ae, client_for):
    for _ in range(3):
        lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    html = client_for(ae).get(reverse("my_deals")).content.decode()

    for form in ("next_step", "win", "lose", "recycle", "hand_back"):
        assert html.count(f'<template id="form-{form}">') == 1
    lose = html.split('<template id="form-lose">')[1].split("</template>")[0]
    assert '<option value="lost" selected>' in lose
    assert "Mark as lost" in lose
    assert html.count('data-form="lose"') == 3


def _form(html: str, name: str) -> str:
    return html.split(f'<template id="form-{name}">')[1].split("</template>")[0]


def test_each_visitor_gets_the_action_forms_with_their_own_csrf_token(sdr, other_sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    client, other = client_for(sdr), client_for(other_sdr)
    client.handler.enforce_csrf_checks = True
    other.get(reverse("my_work"))  # the forms as another session rendered them

    attempt = _form(client.get(reverse("my_work")).content.decode(), "attempt")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', attempt)[1]
    posted = {"from": "work", "section": "open", "channel": "call", "outcome": "no_answer"}
    response = client.post(
        reverse("lead_do", args=[lead.pk, "attempt"]), {**posted, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert lead.attempts.count() == 1
    forged = client.post(
        reverse("lead_do", args=[lead.pk, "attempt"]), {**posted, "csrfmiddlewaretoken": "x" * 64}
    )
    assert forged.status_code == 403


def test_the_meeting_form_lists_the_aes_as_they_are_now(sdr, ae, make_user, client_for):
    client = client_for(sdr)
    lead_at(Stage.MQL, owner=sdr)
    before = _form(client.get(reverse("my_work")).content.decode(), "convert")
    make_user("zoe", "ae", first_name="Zoe", last_name="Adams")
    ae.first_name = "Ada"
    ae.save()

    after = _form(client.get(reverse("my_work")).content.decode(), "convert")

    assert "Zoe Adams" not in before
    assert "Zoe Adams" in after
    assert f'<option value="{ae.pk}" >Ada</option>' in after


def test_the_rows_print_what_contacts_wrote_as_text_on_every_list(marketer, sdr, ae, client_for):
    hostile = {
        "first_name": "<b>Bo</b>",
        "last_name": '"><script>x()</script>',
        "company": "<i>Acme</i> & Co",
        "job_title": "<u>CTO</u>",
    }
    lead_at(Stage.MQL, owner=sdr, email="a@example.com", **hostile)
    lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae, email="b@example.com", **hostile)

    pages = [
        client_for(marketer).get(reverse("mql_queue")),
        client_for(sdr).get(reverse("my_work")),
        client_for(ae).get(reverse("my_deals")),
    ]

    for page in pages:
        html = page.content.decode()
        assert "<script>x()" not in html
        assert "<b>Bo</b>" not in html
        assert "&lt;b&gt;Bo&lt;/b&gt; &quot;&gt;&lt;script&gt;x()&lt;/script&gt;" in html
        assert "&lt;i&gt;Acme&lt;/i&gt; &amp; Co" in html
        assert "&lt;u&gt;CTO&lt;/u&gt;" in html

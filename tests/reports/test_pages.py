"""The reports page and its CSV exports: who sees what, period input, same numbers, queries."""

from __future__ import annotations

import pytest

from leadflow.reports.tables import SECTIONS

from .history import history_build
from .pages import csv_tables, page_tables

PERIOD = "?period=custom&start=2026-01-01&end=2026-06-30"
EVERYTHING = list(SECTIONS)


def _get(client, user, url):
    if user is not None:
        client.force_login(user)
    return client.get(url)


@pytest.mark.parametrize(
    ("persona", "page", "csvs"),
    [
        (None, 302, {s: 302 for s in EVERYTHING}),
        ("outsider", 403, {s: 403 for s in EVERYTHING}),
        ("marketer", 200, {s: 200 for s in EVERYTHING}),
        ("admin", 200, {s: 200 for s in EVERYTHING}),
        ("sdr", 200, {s: 200 if s == "team" else 403 for s in EVERYTHING}),
        ("ae", 200, {s: 200 if s == "team" else 403 for s in EVERYTHING}),
    ],
)
def test_who_may_see_which_report(db, client, personas, persona, page, csvs):
    user = personas[persona] if persona else None
    response = _get(client, user, f"/reports/{PERIOD}")
    assert response.status_code == page
    if page == 302:
        assert response["Location"].startswith("/login/")
    for section, status in csvs.items():
        assert client.get(f"/reports/{section}.csv{PERIOD}").status_code == status, section


def test_an_unknown_report_is_404(db, client, marketer):
    client.force_login(marketer)
    assert client.get("/reports/everything.csv").status_code == 404


def test_marketers_see_every_section_and_reps_only_their_own_figures(db, client, team):
    history_build(seed=7, leads=40, people=team, merges=2)

    client.force_login(team["marketer"])
    tables = page_tables(client.get(f"/reports/{PERIOD}").content.decode())
    assert {"funnel", "cohorts", "breakdown", "velocity", "sdr", "ae", "quality_reasons"} <= set(
        tables
    )
    assert {row[0] for row in tables["sdr"][1:]} >= {"sdr", "sdr2"}

    client.force_login(team["sdr"])
    html = client.get(f"/reports/{PERIOD}").content.decode()
    tables = page_tables(html)
    assert set(tables) == {"sdr"}
    assert [row[0] for row in tables["sdr"][1:]] == ["sdr"]
    assert "sdr2" not in html

    client.force_login(team["ae"])
    tables = page_tables(client.get(f"/reports/{PERIOD}").content.decode())
    assert set(tables) == {"ae"}
    assert [row[0] for row in tables["ae"][1:]] == ["ae"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?period=custom&start=2026-02-30&end=2026-03-01", "Enter a valid date."),
        ("?period=custom&start=2026-03-01&end=2026-02-01", "The end date is before the start"),
        ("?period=custom&start=2026-03-01", "Custom dates need a start and an end date."),
        ("?period=custom&start=2000-01-01&end=2026-01-01", "at most three years"),
        ("?period=yesterday", "Select a valid choice."),
        ("?dimension=password", "Select a valid choice."),
        ("?start=%00%ff", "Enter a valid date."),
    ],
)
def test_a_bad_period_is_a_form_error_not_a_crash(db, client, marketer, query, message):
    client.force_login(marketer)

    response = client.get(f"/reports/{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    csv_response = client.get(f"/reports/funnel.csv{query}")
    assert csv_response.status_code == 400
    assert message in csv_response.content.decode()


def test_each_csv_export_has_the_numbers_of_the_page(db, client, team):
    history_build(seed=8, leads=50, people=team, merges=2)
    client.force_login(team["marketer"])
    for dimension in ("first_touch_campaign", "sdr", "score_band"):
        query = f"{PERIOD}&dimension={dimension}"
        page = page_tables(client.get(f"/reports/{query}").content.decode())
        for section in SECTIONS:
            response = client.get(f"/reports/{section}.csv{query}")
            assert response["Content-Type"] == "text/csv; charset=utf-8"
            assert "attachment" in response["Content-Disposition"]
            exported = csv_tables(response.content.decode())
            built = SECTIONS[section][1]
            keys = [t.key for t in _section_tables(built, query)]
            assert exported == [page[key] for key in keys], section


def _section_tables(build, query):
    from leadflow.reports.forms import ReportForm
    from leadflow.reports.tables import Scope

    form = ReportForm(dict(p.split("=") for p in query[1:].split("&")))
    assert form.is_valid()
    data = form.cleaned_data
    return build(data["range"], Scope(everything=True), dimension=data["dimension"]).tables


def test_names_from_the_website_are_escaped_on_the_page_and_defused_in_the_csv(db, client, team):
    history_build(seed=9, leads=40, people=team, merges=0)
    client.force_login(team["marketer"])
    query = f"{PERIOD}&dimension=first_touch_source"

    html = client.get(f"/reports/{query}").content.decode()
    assert "<b>partner</b>" not in html
    assert "&lt;b&gt;partner&lt;/b&gt;" in html
    text = client.get(f"/reports/breakdowns.csv{query}").content.decode()
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text


def test_the_page_draws_its_charts_as_svg(db, client, team):
    history_build(seed=10, leads=30, people=team, merges=0)
    client.force_login(team["marketer"])

    html = client.get(f"/reports/{PERIOD}").content.decode()
    assert html.count("<svg") >= 3  # funnel, trend (and the logo)
    assert 'class="chart chart-funnel"' in html
    assert "<polyline" in html
    assert 'class="num shaded"' in html  # the cohort table, shaded by rate


def test_the_reports_page_makes_a_fixed_number_of_queries(
    db, client, team, django_assert_num_queries
):
    history_build(seed=11, leads=30, people=team, merges=0)
    client.force_login(team["marketer"])
    client.get(f"/reports/{PERIOD}")  # warm the rules cache

    # session, user, groups, 2 permission lookups and the unread notifications for the top bar;
    # funnel, cohorts, breakdown, velocity and trend, SDRs, AEs, quality (funnel, reasons,
    # sources): one query a table, whatever the number of leads.
    with django_assert_num_queries(16):
        assert client.get(f"/reports/{PERIOD}").status_code == 200
    history_build(seed=12, leads=30, people=team, merges=0)
    with django_assert_num_queries(16):
        assert client.get(f"/reports/{PERIOD}").status_code == 200

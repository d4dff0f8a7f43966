"""The reports of the demo data in Chromium: charts drawn, a CSV with the page's numbers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import SCREENSHOTS, browser_login

from .pages import csv_tables, page_tables

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_a_marketer_reads_the_demo_funnel_and_downloads_the_same_numbers(
    live_server, page, marketer, tmp_path
):
    # The demo keeps an existing user's password: the persona logs in with the test one.
    call_command("demo", leads=300, stdout=io.StringIO(), stderr=io.StringIO())
    browser_login(page, live_server, "marketer")

    page.get_by_role("link", name="Reports").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Reports", level=1).is_visible()

    bars = page.locator("figure.chart-funnel svg rect")
    assert bars.count() == 7
    assert page.locator("figure.chart-funnel svg").is_visible()
    assert page.locator("figure.chart-trend svg polyline").count() >= 2
    assert page.locator("td.shaded").count() >= 3
    tables = page_tables(page.content())
    leads = int(tables["funnel"][2][1])
    assert leads > 100  # the demo's 90 days are the default period
    values = page.locator("figure.chart-funnel .bar-value").all_text_contents()
    assert values == [row[1] for row in tables["funnel"][1:]]  # the bars draw the table
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)

    for section in ("funnel", "cohorts", "velocity"):
        with page.expect_download() as info:
            page.locator(f"#{section}").get_by_role("link", name="Download CSV").click()
        download = info.value
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert download.suggested_filename.startswith(f"leadflow-{section}-")
        exported = csv_tables(Path(path).read_text(encoding="utf-8"))
        keys = {"funnel": ["funnel", "funnel_summary"], "cohorts": ["cohorts"],
                "velocity": ["velocity", "velocity_trend"]}[section]  # fmt: skip
        assert exported == [tables[key] for key in keys], section

    # A bad custom period is a form error on the page, not a crash.
    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill("2026-05-01")
    page.get_by_label("To", exact=True).fill("2026-04-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("The end date is before the start date.").is_visible()

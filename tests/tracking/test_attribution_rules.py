"""Which touch a message records: UTM fields first, else the referrer. No database."""

from __future__ import annotations

import pytest

from leadflow.tracking.attribution import DIRECT, Touch, search_engine, touch_of

SITE = "https://www.shop.example/pricing"


def _page(referrer: str | None = "", url: str = SITE, **extra) -> dict:
    page = {"url": url, **extra}
    if referrer is not None:
        page["referrer"] = referrer
    return {"page": page}


@pytest.mark.parametrize(
    ("campaign", "touch"),
    [
        (
            {"source": "newsletter", "medium": "email", "name": "spring"},
            Touch("newsletter", "email", "spring"),
        ),
        ({"source": "linkedin", "medium": "cpc"}, Touch("linkedin", "cpc", "")),
        ({"campaign": "launch", "source": "x"}, Touch("x", "", "launch")),
        ({"source": "  padded  ", "medium": 7}, Touch("padded", "7", "")),
    ],
)
def test_utm_fields_of_the_context_make_the_touch(campaign, touch):
    context = {"campaign": campaign, **_page("https://www.google.com/")}

    assert touch_of(context, {}, "", is_page=False) == touch


def test_utm_fields_in_the_page_url_count_when_the_context_has_none():
    context = _page("", url=f"{SITE}?utm_source=ads&utm_medium=cpc&utm_campaign=q3&x=1")

    assert touch_of(context, {}, "", is_page=True) == Touch("ads", "cpc", "q3")


def test_utm_fields_in_the_page_search_count_too():
    context = _page("", search="?utm_source=partner&utm_medium=referral")

    assert touch_of(context, {}, "", is_page=True) == Touch("partner", "referral", "")


def test_an_empty_campaign_falls_back_to_the_referrer():
    context = {"campaign": {}, **_page("https://duckduckgo.com/")}

    assert touch_of(context, {}, "", is_page=False) == Touch("duckduckgo", "organic")


@pytest.mark.parametrize(
    ("referrer", "engine"),
    [
        ("https://www.google.com/", "google"),
        ("https://www.google.co.uk/search?q=crm", "google"),
        ("https://www.bing.com/search?q=x", "bing"),
        ("https://search.yahoo.com/", "yahoo"),
        ("https://duckduckgo.com/", "duckduckgo"),
        ("https://search.brave.com/search?q=x", "brave"),
        ("https://yandex.ru/", "yandex"),
        ("https://www.ecosia.org/", "ecosia"),
    ],
)
def test_a_search_engine_referrer_is_organic_search(referrer, engine):
    assert touch_of(_page(referrer), {}, "", is_page=True) == Touch(engine, "organic")


@pytest.mark.parametrize(
    ("referrer", "source"),
    [
        ("https://news.ycombinator.com/item?id=1", "news.ycombinator.com"),
        ("https://www.partner.example/blog", "partner.example"),
        ("http://googleblog.example/", "googleblog.example"),
    ],
)
def test_another_site_is_a_referral_by_its_domain(referrer, source):
    assert touch_of(_page(referrer), {}, "", is_page=True) == Touch(source, "referral")


def test_no_referrer_at_all_is_a_direct_visit():
    assert touch_of(_page(""), {}, "", is_page=True) == DIRECT
    assert touch_of(_page(None), {}, "", is_page=True) == DIRECT
    assert DIRECT.is_direct


@pytest.mark.parametrize(
    "referrer",
    ["https://www.shop.example/", "https://shop.example/features", "https://blog.shop.example/"],
)
def test_a_click_inside_the_site_is_no_touch(referrer):
    assert touch_of(_page(referrer), {}, "", is_page=True) is None


def test_a_backend_call_without_a_page_is_no_touch():
    assert touch_of({"ip": "203.0.113.1"}, {}, "", is_page=False) is None


def test_a_server_side_page_call_reads_its_referrer_from_the_properties():
    properties = {"url": SITE, "referrer": "https://www.bing.com/"}

    assert touch_of({}, properties, SITE, is_page=True) == Touch("bing", "organic")


@pytest.mark.parametrize(
    "referrer", ["not a url", "https://[::1", "android-app://com.google.android.gm/", 42]
)
def test_odd_referrers_never_raise(referrer):
    context = {"page": {"url": SITE, "referrer": referrer}}

    touch_of(context, {}, "", is_page=True)


def test_long_values_are_cut_to_the_column_size():
    context = {"campaign": {"source": "s" * 500, "medium": "m", "name": "n" * 500}}

    touch = touch_of(context, {}, "", is_page=False)

    assert (len(touch.source), len(touch.campaign)) == (200, 200)


@pytest.mark.parametrize(
    ("host", "engine"),
    [("www.google.de", "google"), ("m.baidu.com", "baidu"), ("google", ""), ("mygoogle.com", "")],
)
def test_search_engines_are_known_by_their_host(host, engine):
    assert search_engine(host) == engine

"""Where a visitor came from: a touch read from UTM fields, else from the referrer.

Pure functions of one message's context: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LIMIT = 200

# The first label of a search engine's host (once "www.", "m." or "search." is dropped) → its
# name: google.co.uk, www.bing.com, search.yahoo.com, search.brave.com, duckduckgo.com...
SEARCH_ENGINES = {
    "google": "google",
    "bing": "bing",
    "yahoo": "yahoo",
    "duckduckgo": "duckduckgo",
    "baidu": "baidu",
    "yandex": "yandex",
    "ecosia": "ecosia",
    "qwant": "qwant",
    "startpage": "startpage",
    "brave": "brave",
    "naver": "naver",
    "seznam": "seznam",
    "ask": "ask",
    "aol": "aol",
    "kagi": "kagi",
}
_HOST_PREFIXES = ("www.", "m.", "search.")


@dataclass(frozen=True)
class Touch:
    source: str
    medium: str
    campaign: str = ""

    @property
    def is_direct(self) -> bool:
        return self == DIRECT


DIRECT = Touch("direct", "none")


def _clean(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip()[:LIMIT]


def _utm(fields: Mapping[str, Any]) -> Touch | None:
    """A touch from Segment's context.campaign (utm_campaign arrives as `name`)."""
    source = _clean(fields.get("source"))
    medium = _clean(fields.get("medium"))
    campaign = _clean(fields.get("name")) or _clean(fields.get("campaign"))
    if not (source or medium or campaign):
        return None
    return Touch(source, medium, campaign)


def _utm_of_query(query: str) -> Touch | None:
    if "utm_" not in query:
        return None
    fields = {
        key[4:]: value
        for key, value in parse_qsl(query.lstrip("?"), max_num_fields=100)
        if key.startswith("utm_")
    }
    return _utm(fields)


def _host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:  # an invalid IPv6 literal, a bad port
        return ""
    return host.rstrip(".")


def _site(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _same_site(one: str, other: str) -> bool:
    one, other = _site(one), _site(other)
    return one == other or one.endswith("." + other) or other.endswith("." + one)


def search_engine(host: str) -> str:
    """The search engine's name if `host` is one of theirs, else ""."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix):
                host, stripped = host[len(prefix) :], True
    label, dot, _ = host.partition(".")
    return SEARCH_ENGINES.get(label, "") if dot else ""


def touch_of(
    context: Mapping[str, Any], properties: Mapping[str, Any], url: str, *, is_page: bool
) -> Touch | None:
    """The touch a message records, or None when it says nothing about where the visitor came
    from (a backend event without a page, or a click from one page of the site to another).

    UTM fields win (context.campaign, else utm_* in the page's query string); without them the
    referrer decides: a search engine is organic, another site a referral, none at all direct.
    """
    page = context.get("page")
    page = page if isinstance(page, Mapping) else {}
    campaign = context.get("campaign")
    touch = _utm(campaign) if isinstance(campaign, Mapping) else None
    page_url = page.get("url") if isinstance(page.get("url"), str) else url
    if touch is None:
        search = page.get("search")
        if isinstance(search, str) and search:
            touch = _utm_of_query(search)
        elif page_url:
            try:
                touch = _utm_of_query(urlsplit(page_url).query)
            except ValueError:
                touch = None
    if touch is not None:
        return touch
    referrer = page.get("referrer")
    if not isinstance(referrer, str):
        referrer = properties.get("referrer") if is_page else None
    if not (page or is_page):
        return None  # not sent from a browser page: no referrer to read
    host = _host(referrer) if isinstance(referrer, str) and referrer.strip() else ""
    if not host:
        return DIRECT
    if page_url and _same_site(host, _host(page_url)):
        return None  # a click inside the site: not a new touch
    engine = search_engine(host)
    if engine:
        return Touch(engine, "organic")
    return Touch(_site(host)[:LIMIT], "referral")

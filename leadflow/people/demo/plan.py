"""Write the demo's 90 days in advance: every tracked message and every rep's action, with its time.

Pure: no database. The same seed, size and end give the same plan (office hours and weekends
follow the calendar, so another weekday shifts a few leads). Each lead gets an outcome
first (so even a small demo shows every stage and status) and a story is written backwards from
it: a lead that will be won must have qualified early enough for a meeting and a deal to follow.

The stories rely on the demo scoring rules (`scoring.demo`): an MQL needs company and job title
and 60 points. A hot lead downloads a white paper and views pricing three times, or views pricing
and requests a demo; a cold one never gets there (at most one white paper and no pricing, or two
pricing views and no white paper, or no company and title at all).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from . import data

SEED = 20250601
DAYS = 90
ANONYMOUS_PER_LEAD = 4  # most visitors never say who they are

# Share of the leads for each final outcome. Cold tracked leads take what is left.
OUTCOMES: dict[str, float] = {
    # tracked leads that reach MQL (about a quarter of them)
    "mql_open": 0.03,
    "mql_attempt": 0.03,
    "mql_nurture": 0.025,
    "mql_reopened": 0.006,
    "sdr_disqualified": 0.04,
    "sdr_disqualified_recycled": 0.012,
    "recycled_reengaged": 0.005,
    "sql_active": 0.025,
    "sql_handed_back": 0.006,
    "won": 0.035,
    "lost": 0.025,
    "lost_recycled": 0.006,
    # tracked leads that never reach MQL
    "spam": 0.012,
    "duplicate": 0.008,
    "visitor_user_id": 0.04,
    "user_id_then_email": 0.015,
    # sales-sourced, straight to SQL
    "outbound_pending": 0.015,
    "outbound_active": 0.008,
    "outbound_won": 0.008,
    "outbound_no_response": 0.01,
    "event_active": 0.004,
    "referral_won": 0.008,
    "event_lost": 0.004,
}
COLD = "cold"

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Step:
    """An action on the lead of the contact with this email, at this time: a rep's, or the
    scoring worker's pass after a visit ("score")."""

    when: dt.datetime
    key: str
    action: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    start: dt.datetime
    end: dt.datetime
    # The website's history, loaded in bulk before the story is played.
    messages: list[tuple[dt.datetime, dict[str, Any]]] = field(default_factory=list)
    # Visits sent through the tracking API at their moment, during the story: people that sales
    # entered first, coming to the site from a rep's email (the contact exists by then).
    visits: list[tuple[dt.datetime, list[dict[str, Any]]]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class Person:
    first_name: str
    last_name: str
    email: str
    company: str = ""
    job_title: str = ""
    country: str = ""
    phone: str = ""
    size: str = ""
    locale: str = "en-US"

    def traits(self) -> dict[str, Any]:
        traits = {
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "company": self.company,
            "title": self.job_title,
            "country": self.country,
            "phone": self.phone,
        }
        return {name: value for name, value in traits.items() if value}


@dataclass
class Browser:
    anonymous_id: str
    user_agent: str
    locale: str
    user_id: str = ""


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    country: str
    locale: str
    phone_prefix: str
    size: str


def plan_build(*, leads: int, end: dt.datetime, seed: int = SEED) -> Plan:
    return _Planner(leads=leads, end=end, seed=seed).build()


def _weighted(items: list[tuple[Any, ...]], weight: int = 1) -> tuple[list[Any], list[float]]:
    """Items and their cumulative weights (column `weight` of each), for `random.choices`."""
    return items, list(itertools.accumulate(item[weight] for item in items))


COUNTRIES = _weighted(data.COUNTRIES)
SIZES = _weighted(data.COMPANY_SIZES)
TITLES = _weighted(data.JOB_TITLES)
ACQUISITION = _weighted(data.ACQUISITION, 0)
RETURNS = [0, 1, 2, 3], list(itertools.accumulate([45, 35, 15, 5]))
# What visitors read: every page but pricing (pricing views are placed on purpose), blog twice.
READING = [
    *(path for path in data.PAGES if path != "/pricing"),
    *data.BLOG_POSTS,
    *data.BLOG_POSTS,
    *data.CUSTOMER_STORIES,
]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="milliseconds")


@functools.cache
def _utm(source: str, medium: str, name: str) -> str:
    return urlencode({"utm_source": source, "utm_medium": medium, "utm_campaign": name})


class _Planner:
    def __init__(self, *, leads: int, end: dt.datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.leads = leads
        self.end = end.astimezone(dt.UTC)
        self.start = self.end - dt.timedelta(days=DAYS)
        self.plan = Plan(start=self.start, end=self.end)
        self.emails: set[str] = set()
        self.people: list[Person] = []
        self.message_seq = 0
        self.sink = self.plan.messages
        self.companies = self._companies(max(40, leads // 6))

    def build(self) -> Plan:
        outcomes = self._outcomes()
        self.rng.shuffle(outcomes)
        for outcome in outcomes:
            self.plan.outcomes[outcome] += 1
            if outcome.startswith(("outbound_", "event_", "referral_")):
                self._direct(outcome)
            elif outcome in ("visitor_user_id", "user_id_then_email"):
                self._user_id_visitor(then_email=outcome == "user_id_then_email")
            elif outcome in ("spam", "duplicate", COLD):
                self._cold(outcome)
            else:
                self._hot(outcome)
        for _ in range(self.leads * ANONYMOUS_PER_LEAD):
            self._anonymous()
        # Sessions are a few minutes long: none may end after today.
        self.plan.messages = sorted(
            (item for item in self.plan.messages if item[0] <= self.end), key=lambda item: item[0]
        )
        self.plan.steps.sort(key=lambda step: step.when)
        self.plan.visits = sorted(
            (visit for visit in self.plan.visits if visit[0] <= self.end), key=lambda v: v[0]
        )
        return self.plan

    def _outcomes(self) -> list[str]:
        counts = {name: max(1, round(share * self.leads)) for name, share in OUTCOMES.items()}
        cold = max(1, self.leads - sum(counts.values()))
        return [name for name, count in counts.items() for _ in range(count)] + [COLD] * cold

    # -- people --

    def _companies(self, count: int) -> list[Company]:
        rng = self.rng
        names = [f"{word} {kind}" for word in data.COMPANY_WORDS for kind in data.COMPANY_KINDS]
        rng.shuffle(names)
        companies = []
        for name in names[:count]:
            country, _, locale, tld, phone = rng.choices(COUNTRIES[0], cum_weights=COUNTRIES[1])[0]
            tld = tld if rng.random() < 0.6 else rng.choice([".com", ".io", ".co"])
            size = rng.choices(SIZES[0], cum_weights=SIZES[1])[0][0]
            companies.append(Company(name, _ascii(name) + tld, country, locale, phone, size))
        return companies

    def _name(self) -> tuple[str, str]:
        return self.rng.choice(data.FIRST_NAMES), self.rng.choice(data.LAST_NAMES)

    def _unique(self, local: str, domain: str) -> str:
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def _business_person(self, *, phone: float = 0.5) -> Person:
        rng = self.rng
        first, last = self._name()
        company = rng.choice(self.companies)
        local = rng.choice([f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)[0]}{_ascii(last)}"])
        title = rng.choices(TITLES[0], cum_weights=TITLES[1])[0][0]
        number = f"{company.phone_prefix} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        person = Person(
            first_name=first,
            last_name=last,
            email=self._unique(local, company.domain),
            company=company.name,
            job_title=title,
            country=company.country,
            phone=number if rng.random() < phone else "",
            size=company.size,
            locale=company.locale,
        )
        self.people.append(person)
        return person

    def _private_person(self) -> Person:
        first, last = self._name()
        local = f"{_ascii(first)}.{_ascii(last)}{self.rng.randint(1, 99)}"
        return Person(first, last, self._unique(local, self.rng.choice(data.FREEMAIL)))

    # -- time --

    def _between(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        if hi <= lo:
            return lo
        return lo + (hi - lo) * self.rng.random()

    def _days_before_end(self, most: float, least: float) -> dt.datetime:
        return self._between(self.end - most * DAY, self.end - least * DAY)

    def _visit_time(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """A time between lo and hi, mostly on weekdays and in waking hours."""
        when = self._between(lo, hi)
        for _ in range(4):
            weekend = when.weekday() >= 5 and self.rng.random() < 0.6
            night = (when.hour < 7 or when.hour >= 22) and self.rng.random() < 0.8
            if not (weekend or night):
                break
            when = self._between(lo, hi)
        return when

    def _work(self, when: dt.datetime) -> dt.datetime:
        """The next moment in office hours (Monday to Friday, 9:00 to 18:00) from `when`."""
        while when.weekday() >= 5 or not 9 <= when.hour < 18:
            day = when if when.hour < 9 and when.weekday() < 5 else when + DAY
            when = day.replace(hour=9, minute=self.rng.randrange(60), second=self.rng.randrange(60))
        return when

    # -- tracked messages --

    def _browser(self, locale: str = "en-US") -> Browser:
        anonymous_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return Browser(anonymous_id, self.rng.choice(data.USER_AGENTS), locale)

    def _message(
        self, browser: Browser, when: dt.datetime, kind: str, campaign: dict[str, str] | None
    ) -> dict[str, Any]:
        self.message_seq += 1
        when = when.replace(microsecond=when.microsecond // 1000 * 1000)  # as precise as the JSON
        context: dict[str, Any] = {"userAgent": browser.user_agent, "locale": browser.locale}
        if campaign:
            context["campaign"] = dict(campaign)
        raw: dict[str, Any] = {
            "type": kind,
            "messageId": f"demo-{self.message_seq:07d}",
            "anonymousId": browser.anonymous_id,
            "timestamp": _iso(when),
            "context": context,
        }
        if browser.user_id:
            raw["userId"] = browser.user_id
        self.sink.append((when, raw))
        return raw

    def _acquisition(self) -> tuple[dict[str, str] | None, str]:
        _, campaign, referrer = self.rng.choices(ACQUISITION[0], cum_weights=ACQUISITION[1])[0]
        return campaign, referrer

    def _paths(self, count: int, *, landing: str = "") -> list[str]:
        """Pages a visitor reads, never the pricing page (pricing views are placed on purpose)."""
        paths = [landing] if landing else []
        while len(paths) < count:
            paths.append(self.rng.choice(READING))
        return paths

    def _session(
        self,
        browser: Browser,
        when: dt.datetime,
        paths: list[str],
        *,
        campaign: dict[str, str] | None = None,
        referrer: str = "",
        form: tuple[str, dict[str, Any]] | None = None,
        traits: dict[str, Any] | None = None,
    ) -> dt.datetime:
        """Page views from `when`, then a form (a track call and an identify). Returns the end."""
        rng = self.rng
        previous = referrer
        for index, path in enumerate(paths):
            title = data.PAGES.get(path) or data.BLOG_POSTS.get(path) or data.CUSTOMER_STORIES[path]
            url = f"{data.SITE}{path}"
            if index == 0 and campaign:
                url += "?" + _utm(campaign["source"], campaign["medium"], campaign["name"])
            raw = self._message(browser, when, "page", campaign)
            raw["name"] = title
            raw["properties"] = {"path": path, "url": url, "title": title, "referrer": previous}
            previous = url
            when += dt.timedelta(seconds=rng.randint(15, 240))
        if form:
            event, properties = form
            raw = self._message(browser, when, "track", campaign)
            raw["event"] = event
            raw["properties"] = properties
            if paths:
                raw["context"]["page"] = {"path": paths[-1], "url": previous}
            when += dt.timedelta(seconds=rng.randint(1, 5))
        if traits:
            raw = self._message(browser, when, "identify", campaign)
            raw["traits"] = traits
        return when

    def _browse(
        self,
        browser: Browser,
        lo: dt.datetime,
        hi: dt.datetime,
        sessions: int,
        *,
        pages: tuple[int, int] = (1, 4),
        campaign: dict[str, str] | None = None,
    ) -> None:
        """A few sessions of reading (no pricing) between lo and hi."""
        hi = min(hi, self.end - 30 * MINUTE)
        if hi - lo < 30 * MINUTE:
            return
        for when in sorted(self._visit_time(lo, hi) for _ in range(sessions)):
            session_campaign, referrer = (campaign, "") if campaign else self._acquisition()
            self._session(
                browser,
                when,
                self._paths(self.rng.randint(*pages)),
                campaign=session_campaign,
                referrer=referrer,
            )

    def _returns(self) -> int:
        """How many more times a known person comes back to the site."""
        return self.rng.choices(RETURNS[0], cum_weights=RETURNS[1])[0]

    def _anonymous(self) -> None:
        browser = self._browser(self.rng.choice(data.COUNTRIES)[2])
        first = self._visit_time(self.start, self.end - 10 * MINUTE)
        campaign, referrer = self._acquisition()
        bounce = self.rng.random() < 0.45
        end = self._session(
            browser,
            first,
            self._paths(1 if bounce else self.rng.randint(2, 5)),
            campaign=campaign,
            referrer=referrer,
        )
        if self.rng.random() < 0.1:  # curious about the price, never back
            self._session(browser, end + MINUTE, ["/pricing"])
        if self.rng.random() < 0.25:
            later = min(self.end - MINUTE, first + 20 * DAY)
            self._browse(browser, first + HOUR, later, self.rng.randint(1, 2))

    # -- reps' actions --

    def _step(self, when: dt.datetime, key: str, action: str, **args: Any) -> dt.datetime:
        # A step that would happen after today is left out; a story then simply ends earlier.
        if when < self.end:
            self.plan.steps.append(Step(when, key, action, args))
        return when

    def _attempts(
        self,
        when: dt.datetime,
        key: str,
        count: int,
        *,
        last: str = "",
        gap: tuple[int, int] = (1, 3),
    ) -> dt.datetime:
        """`count` attempts a few days apart from `when`; the last one ends in `last` if given."""
        rng = self.rng
        for n in range(count):
            if n:
                when = self._work(when + rng.randint(*gap) * DAY + rng.randint(0, 300) * MINUTE)
            outcome = last if last and n == count - 1 else rng.choice(["no_answer", "left_message"])
            channel = "email" if outcome == "left_message" and rng.random() < 0.4 else "call"
            if outcome == "left_message" and rng.random() < 0.2:
                channel = "social"
            note = rng.choice(data.ATTEMPT_NOTES[outcome])
            self._step(when, key, "attempt", channel=channel, outcome=outcome, note=note)
        return when

    def _first_touch(self, qualified: dt.datetime) -> dt.datetime:
        # Most MQLs are touched within the 24 h SLA; some wait too long.
        late = self.rng.random() < 0.15
        hours = self.rng.uniform(26, 72) if late else self.rng.uniform(1.5, 20)
        return self._work(qualified + hours * HOUR)

    def _ae(self) -> str:
        return self.rng.choice(["ae", "ae2"])

    def _deal_value(self, person: Person) -> Decimal:
        low, high = next(s[2] for s in data.COMPANY_SIZES if s[0] == person.size)
        return Decimal(round(self.rng.uniform(low, high), -2)).quantize(Decimal("0.01"))

    @staticmethod
    def _slot(when: dt.datetime) -> dt.datetime:
        """The quarter hour a meeting is booked for."""
        return when.replace(minute=when.minute // 15 * 15, second=0, microsecond=0)

    def _meeting(self, key: str, when: dt.datetime, *, convert: bool) -> dt.datetime:
        meeting_at = self._slot(self._work(when + self.rng.uniform(1, 6) * DAY))
        action = "convert" if convert else "book_meeting"
        self._step(when, key, action, ae=self._ae(), meeting_at=meeting_at)
        return meeting_at

    # -- tracked leads --

    def _hot(self, outcome: str) -> None:
        """A lead that qualifies as MQL at `qualified`, then its reps' story."""
        rng = self.rng
        latest_start = {
            "mql_open": None,
            "mql_attempt": (14, 2),
            "mql_nurture": (60, 3),
            "mql_reopened": (45, 20),
            "sql_active": (25, 4),
            "sql_handed_back": (30, 10),
            "sdr_disqualified": (DAYS - 3, 20),
            "sdr_disqualified_recycled": (DAYS - 3, 50),
            "recycled_reengaged": (DAYS - 3, 60),
            "won": (DAYS - 3, 45),
            "lost": (DAYS - 3, 30),
            "lost_recycled": (DAYS - 3, 75),
        }[outcome]
        if latest_start is None:  # still open: recent, with a few overdue
            window = (9, 4) if rng.random() < 0.15 else (4, 0.15)
            qualified = self._days_before_end(*window)
        else:
            qualified = self._days_before_end(*latest_start)
        person = self._business_person()
        key = person.email
        browser = self._browser(person.locale)
        campaign, referrer = self._acquisition()
        if rng.random() < 0.5:
            # White paper, then pricing three times: 25 + 30 + fit.
            identified = max(self.start + HOUR, qualified - rng.uniform(0, 10) * DAY)
            form = ("Whitepaper Downloaded", {"title": data.WHITEPAPERS[0], "format": "pdf"})
            pricing_sessions = rng.randint(1, 2)
            ramp = sorted(
                self._between(identified + HOUR, qualified) for _ in range(pricing_sessions)
            )
            ramp[-1] = max(qualified, identified + HOUR)
        else:
            # Pricing twice, then a demo request: 40 + 20 + fit.
            identified = qualified
            form = ("Demo Requested", {"plan": rng.choice(["Growth", "Enterprise"])})
            ramp = []
        first = max(self.start, identified - rng.uniform(0, 25) * DAY)
        self._browse(browser, first, identified - HOUR, rng.randint(0, 2))
        landing = self._paths(rng.randint(1, 3), landing=rng.choice(["/", "/blog/mql-vs-sql"]))
        if not ramp:
            landing += ["/pricing", "/features", "/pricing"]
        qualified = self._session(
            browser,
            identified,
            landing,
            campaign=campaign,
            referrer=referrer,
            form=form,
            traits=person.traits(),
        )
        views = [1] * len(ramp)
        for _ in range(3 - len(ramp) if ramp else 0):
            views[rng.randrange(len(ramp))] += 1
        for when, count in zip(ramp, views, strict=True):
            paths = ["/features"] + ["/pricing"] * count
            qualified = self._session(browser, when, paths, campaign=data.NURTURE_EMAIL)
        # The scoring worker sees the visit a moment after it ends, and the lead becomes an MQL.
        qualified = self._step(qualified + MINUTE, key, "score")
        recycled = self._hot_story(outcome, key, person, browser, qualified)
        # Still interested afterwards: customers, integrations, pricing. A recycled lead that comes
        # back is scored again, and its old points make it an MQL at once.
        for _ in range(self._returns()):
            when = self._visit_time(qualified + DAY, min(self.end, qualified + 45 * DAY))
            if when < self.end - 10 * MINUTE:
                paths = [rng.choice(["/customers", "/features/integrations", "/pricing"])]
                end = self._session(browser, when, paths + self._paths(rng.randint(0, 2)))
                if recycled and when > recycled:
                    self._step(end + MINUTE, key, "score")

    def _hot_story(
        self, outcome: str, key: str, person: Person, browser: Browser, qualified: dt.datetime
    ) -> dt.datetime | None:
        """The reps' work on a new MQL. Returns when it was recycled, if it was."""
        rng = self.rng
        if outcome == "mql_open":
            return None
        touch = self._first_touch(qualified)
        if outcome == "mql_attempt":
            self._attempts(touch, key, rng.randint(1, 2))
        elif outcome in ("mql_nurture", "mql_reopened"):
            when = self._attempts(touch, key, rng.randint(1, 2), last="bad_timing")
            if outcome == "mql_nurture":
                follow_up = self.end.date() + rng.randint(2, 45) * DAY
            else:
                follow_up = when.date() + rng.randint(7, 14) * DAY
            reason = rng.choice(data.NURTURE_REASONS)
            self._step(when + 3 * MINUTE, key, "nurture", follow_up_on=follow_up, reason=reason)
            # On the follow-up date the schedule reopens it; half are tried again at once.
            if outcome == "mql_reopened" and rng.random() < 0.5:
                again = dt.datetime.combine(follow_up, dt.time(10), tzinfo=dt.UTC)
                self._attempts(self._work(again), key, 1)
        elif outcome.startswith(("sdr_disqualified", "recycled_")):
            reason = "no_response"
            if outcome == "sdr_disqualified":
                reasons = ["no_response", "not_a_fit", "no_budget", "competitor"]
                reason = rng.choices(reasons, [5, 3, 2, 1])[0]
            if reason == "no_response":
                when = self._attempts(touch, key, rng.randint(2, 3), gap=(2, 4))
                when = self._work(when + rng.uniform(2, 5) * DAY)
            else:
                when = self._attempts(touch, key, rng.randint(1, 2), last="connected")
                when += rng.randint(5, 30) * MINUTE
            self._step(when, key, "disqualify", by="owner", reason=reason)
            if outcome != "sdr_disqualified":
                gap = (14, 30) if outcome == "sdr_disqualified_recycled" else (10, 20)
                recycled = self._recycle(when, key, gap)
                if outcome == "recycled_reengaged" and recycled:
                    self._reengage(key, browser, recycled + self.rng.uniform(3, 10) * DAY)
                return recycled
        else:  # converted by the SDR: a meeting with an AE
            when = self._attempts(touch, key, rng.randint(1, 2), last="connected")
            meeting_at = self._meeting(key, when + rng.randint(3, 20) * MINUTE, convert=True)
            return self._sql_story(outcome, key, person, meeting_at)
        return None

    def _sql_story(
        self, outcome: str, key: str, person: Person, meeting_at: dt.datetime
    ) -> dt.datetime | None:
        """The AE's part. Returns when the lost deal was recycled, if it was."""
        rng = self.rng
        if outcome == "sql_handed_back":
            when = self._work(meeting_at + rng.uniform(1, 20) * HOUR)
            self._step(when, key, "hand_back", reason=rng.choice(data.HAND_BACK_REASONS))
            self._attempts(self._work(when + rng.uniform(2, 30) * HOUR), key, rng.randint(0, 1))
        elif outcome in ("won", "outbound_won", "referral_won"):
            when = self._work(meeting_at + rng.uniform(7, 35) * DAY)
            self._step(when, key, "win", deal_value=self._deal_value(person))
        elif outcome in ("lost", "lost_recycled", "event_lost"):
            when = self._work(meeting_at + rng.uniform(5, 25) * DAY)
            reason = rng.choices(["lost", "competitor", "no_budget"], [5, 3, 2])[0]
            self._step(when, key, "disqualify", by="owner", reason=reason)
            if outcome == "lost_recycled":
                return self._recycle(when, key, (20, 35))
        return None

    def _recycle(self, when: dt.datetime, key: str, gap: tuple[int, int]) -> dt.datetime | None:
        when = self._work(when + self.rng.uniform(*gap) * DAY)
        self._step(when, key, "recycle", reason=self.rng.choice(data.RECYCLE_REASONS))
        return when if when < self.end else None

    def _reengage(self, key: str, browser: Browser, after: dt.datetime) -> None:
        """Back on the site after being recycled: the new white paper makes it an MQL again."""
        when = self._visit_time(after, min(self.end - 2 * HOUR, after + 15 * DAY))
        if after < when < self.end - HOUR:
            form = ("Whitepaper Downloaded", {"title": data.WHITEPAPERS[1], "format": "pdf"})
            end = self._session(browser, when, ["/blog/recycling-leads", "/pricing"], form=form)
            self._step(end + MINUTE, key, "score")

    def _cold(self, outcome: str) -> None:
        """A lead that never reaches MQL (the demo rules cannot add up to 60 for it)."""
        rng = self.rng
        kind = rng.choices(["newsletter", "webinar", "content"], [4, 3, 3])[0]
        if outcome == "spam":
            n = rng.randint(1, 9999)
            email = self._unique(f"test{n}", rng.choice(["mailinator.com", "example.org"]))
            person = Person("Test", "Test", email, company="asdf", job_title="test")
            kind = "newsletter"
        elif outcome == "duplicate" and self.people:
            # The same person again under the other usual form of a work address.
            original = rng.choice(self.people)
            first, last = _ascii(original.first_name), _ascii(original.last_name)
            local, domain = original.email.split("@")
            email = self._unique(f"{first[0]}{last}" if "." in local else f"{first}.{last}", domain)
            person = Person(original.first_name, original.last_name, email, original.company)
            kind = "webinar"
        elif kind == "newsletter":
            person = self._private_person() if rng.random() < 0.7 else self._business_person()
        else:
            person = self._business_person()
        key = person.email
        browser = self._browser(person.locale)
        first = self._visit_time(self.start, self.end - 2 * HOUR)
        identified = min(self.end - HOUR, first + rng.uniform(0, 12) * DAY)
        self._browse(browser, first, identified - HOUR, rng.randint(0, 2))
        campaign, referrer = self._acquisition()
        if kind == "newsletter":
            form = ("Newsletter Subscribed", {"list": "Monthly digest"})
            traits = {"email": person.email, "firstName": person.first_name}
            if outcome == "spam":
                traits = person.traits()
            paths = [rng.choice(list(data.BLOG_POSTS))]
        elif kind == "webinar":
            form = ("Webinar Registered", {"webinar": rng.choice(data.WEBINARS)})
            traits, paths = person.traits(), ["/", "/features"]
        else:
            title = rng.choice(data.WHITEPAPERS)
            form = ("Whitepaper Downloaded", {"title": title, "format": "pdf"})
            traits, paths = person.traits(), [rng.choice(list(data.BLOG_POSTS))]
        end = self._session(
            browser,
            identified,
            paths,
            campaign=campaign,
            referrer=referrer,
            form=form,
            traits=traits,
        )
        if kind == "webinar" and rng.random() < 0.5:
            self._session(browser, end + MINUTE, ["/pricing"] * rng.randint(1, 2))
        later = data.NEWSLETTER if kind == "newsletter" else None
        self._browse(browser, identified + DAY, self.end - MINUTE, self._returns(), campaign=later)
        if kind == "newsletter" and rng.random() < 0.1:
            when = self._between(identified + 7 * DAY, self.end - MINUTE)
            if when < self.end - MINUTE:
                raw = self._message(browser, when, "track", data.NEWSLETTER)
                raw["event"], raw["properties"] = "Unsubscribed", {"list": "Monthly digest"}
        if outcome in ("spam", "duplicate"):
            when = self._work(identified + rng.uniform(2, 72) * HOUR)
            self._step(when, key, "disqualify", by="marketer", reason=outcome)

    def _user_id_visitor(self, *, then_email: bool) -> None:
        """A sandbox sign-up known by the product's user id only: a visitor until an email comes."""
        rng = self.rng
        person = self._business_person()
        browser = self._browser(person.locale)
        first = self._visit_time(self.start, self.end - 3 * HOUR)
        signed_up = min(self.end - 2 * HOUR, first + rng.uniform(0, 5) * DAY)
        self._browse(browser, first, signed_up - HOUR, rng.randint(0, 2))
        browser.user_id = f"usr_{rng.getrandbits(40):010x}"
        traits = {"plan": "sandbox", "company": person.company}
        self._session(
            browser,
            signed_up,
            ["/", "/pricing"],
            form=("Sandbox Created", {"plan": "sandbox"}),
            traits=traits,
        )
        self._browse(browser, signed_up + HOUR, self.end - MINUTE, self._returns())
        if then_email:
            when = self._visit_time(signed_up + DAY, self.end - MINUTE)
            traits = {k: v for k, v in person.traits().items() if k != "company"}
            self._session(browser, when, ["/features/integrations"], traits=traits)

    # -- sales-sourced leads --

    def _direct(self, outcome: str) -> None:
        rng = self.rng
        person = self._business_person(phone=0.9)
        key = person.email
        source, by_ae = {
            "outbound": ("outbound", False),
            "event": ("event", True),
            "referral": ("referral", True),
        }[outcome.split("_")[0]]
        window = {
            "outbound_pending": (20, 1),
            "outbound_active": (30, 8),
            "outbound_won": (DAYS - 1, 50),
            "outbound_no_response": (DAYS - 1, 15),
            "event_active": (20, 2),
            "referral_won": (DAYS - 1, 40),
            "event_lost": (DAYS - 1, 30),
        }[outcome]
        when = self._work(self._days_before_end(*window))
        owner = self._ae() if by_ae else rng.choice(["sdr", "sdr2"])
        meeting_at = None
        if by_ae:
            meeting_at = self._slot(self._work(when + rng.uniform(1, 7) * DAY))
        fields = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "company": person.company,
            "job_title": person.job_title,
            "phone": person.phone,
            "country": person.country,
        }
        reason = {
            "outbound": "Cold call from the target account list",
            "event": "Met at the SaaStr booth",
            "referral": "Referred by a happy customer",
        }[source]
        self._step(
            when,
            key,
            "source_direct",
            by=owner,
            owner=owner,
            source=source,
            meeting_at=meeting_at,
            reason=reason,
            **fields,
        )
        if rng.random() < 0.4:  # clicked the link in the rep's email
            visit = self._visit_time(when + 2 * HOUR, min(self.end - MINUTE, when + 10 * DAY))
            if when < visit < self.end - MINUTE:
                browser = self._browser(person.locale)
                self.sink = []
                end = self._session(
                    browser,
                    visit,
                    ["/customers", "/pricing"],
                    campaign=data.OUTREACH_EMAIL,
                    traits={"email": person.email},
                )
                self.plan.visits.append((end + dt.timedelta(seconds=2), [r for _, r in self.sink]))
                self.sink = self.plan.messages
        if by_ae:
            self._sql_story(outcome, key, person, meeting_at)
            return
        touch = self._work(when + rng.uniform(0.5, 30) * HOUR)
        if outcome == "outbound_pending":
            self._attempts(touch, key, rng.randint(1, 3))
        elif outcome == "outbound_no_response":
            when = self._attempts(touch, key, 3, gap=(2, 4))
            when = self._work(when + 3 * DAY)
            self._step(when, key, "disqualify", by="owner", reason="no_response")
        else:
            when = self._attempts(touch, key, rng.randint(1, 3), last="connected")
            meeting_at = self._meeting(key, when + 10 * MINUTE, convert=False)
            self._sql_story(outcome, key, person, meeting_at)

"""Reads that only the pages need."""

from __future__ import annotations

from django.db.models import Q

from leadflow.people.models import search_expressions
from stages.models import Lead

SEARCH_LIMIT = 50
SEARCH_WORDS = 5


def leads_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Lead]:
    """Leads where every word of the query starts a first name, a last name, an email, an email
    domain or a company name, in any case; the ones that moved last first.

    The prefix matches on upper() read the contact's text_pattern_ops indexes, so a search is a
    few index scans however many contacts there are, never a scan of the table.
    """
    words = [word.upper() for word in query.split()[:SEARCH_WORDS]]
    if not words:
        return []
    expressions = {f"_s{n}": e for n, e in enumerate(search_expressions("contact__").values())}
    qs = Lead.objects.select_related("contact", "owner").alias(**expressions)
    for word in words:
        matches = Q()
        for name in expressions:
            matches |= Q(**{f"{name}__startswith": word})
        qs = qs.filter(matches)
    return list(qs.order_by("-stage_changed_at", "-id")[:limit])

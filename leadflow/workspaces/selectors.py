"""Reads that only the pages need."""

from __future__ import annotations

from django.db.models import Q

from stages.models import Lead

SEARCH_LIMIT = 50


def leads_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Lead]:
    """Leads whose name, email or company contain every word of the query, latest moved first.

    A sequential scan with `icontains`: good enough for tens of thousands of contacts; a trigram
    index is the next step when it is not.
    """
    words = query.split()[:5]
    if not words:
        return []
    qs = Lead.objects.select_related("contact", "owner")
    for word in words:
        qs = qs.filter(
            Q(contact__email__icontains=word)
            | Q(contact__first_name__icontains=word)
            | Q(contact__last_name__icontains=word)
            | Q(contact__company__icontains=word)
        )
    return list(qs.order_by("-stage_changed_at", "-id")[:limit])

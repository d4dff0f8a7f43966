from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from django.utils import timezone

from leadflow.tracking.models import Event, WriteKey
from stages.models import Lead

_ids = itertools.count(1)


@pytest.fixture
def add_events(write_key: WriteKey) -> Callable[..., list[Event]]:
    """Store events of a lead as ingest would: `add_events(lead, ("page", "/pricing"), ...)`."""

    def add(lead: Lead | None, *specs: tuple[str, str], anonymous_id: str = "") -> list[Event]:
        now = timezone.now()
        events = [
            Event(
                source=write_key,
                message_id=f"m-{next(_ids)}",
                type=kind,
                name=value if kind == "track" else "",
                url=f"https://www.example.com{value}" if kind == "page" else "",
                lead=lead,
                anonymous_id=anonymous_id,
                occurred_at=now,
                received_at=now,
            )
            for kind, value in specs
        ]
        return Event.objects.bulk_create(events)

    return add

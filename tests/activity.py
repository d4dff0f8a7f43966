"""The scoring worker's fold, for tests that read what an ingest told of a lead.

The ingest leaves a lead's newest event time and touches as activity rows; the worker folds them
into the lead before it scores it (`activity_fold`). Tests on the `db` fixture never commit, so
no worker runs: they fold through the same function, as the worker would.
"""

from __future__ import annotations

from leadflow.tracking.activity import activity_fold
from stages.models import Lead


def folded(lead: Lead) -> Lead:
    """The lead read again once the worker's fold has taken its pending activity."""
    assert activity_fold([lead.pk]).locked == [lead.pk]
    lead.refresh_from_db()
    return lead

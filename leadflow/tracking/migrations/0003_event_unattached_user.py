from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # The events table is the biggest one: build the index without blocking the ingest.
    atomic = False

    dependencies = [
        ("tracking", "0002_segment_calls_keys"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                condition=models.Q(("lead__isnull", True), models.Q(("user_id", ""), _negated=True)),
                fields=["user_id"],
                name="event_unattached_user",
            ),
        ),
    ]

from django.db import migrations


def backfill(apps, schema_editor):
    # The refresh is SQL over the history tables, which this migration's dependencies have
    # created; it is the same code the nightly task runs.
    from leadflow.reports.services import journeys_refresh

    journeys_refresh()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
    ]

    operations = [
        # The funnel counts visitors by first visit: an index range scan, not a table scan.
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reports_visitor_first_seen"
            " ON people_visitor (first_seen_at)",
            "DROP INDEX IF EXISTS reports_visitor_first_seen",
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

from django.db import migrations


def rebuild(apps, schema_editor):
    # The histogram rollup, with its first-touch attempts and SQLs and its months, from the
    # journeys already there (nothing to do on a new database).
    if apps.get_model("reports", "LeadJourney").objects.exists():
        from leadflow.reports.services import journey_days_rebuild

        journey_days_rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_duration_attempts_sqls"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]

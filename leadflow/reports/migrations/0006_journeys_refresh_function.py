from django.db import migrations

from leadflow.reports.services import refresh_function_sql

# The journey refresh of a transition, planned once a connection. A change of the statement
# needs a migration that runs this again (a test compares the function with the statement).


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_touch_months"),
    ]

    operations = [
        migrations.RunSQL(
            refresh_function_sql(),
            "DROP FUNCTION IF EXISTS reports_journeys_refresh(bigint[], text)",
        ),
    ]

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0003_rules_versions_drafts"),
    ]

    operations = [
        migrations.AddField(
            model_name="rescorerun",
            name="slices",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), default=list, size=None
            ),
        ),
        migrations.AddField(
            model_name="rescorerun",
            name="slices_done",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.PositiveIntegerField(), default=list, size=None
            ),
        ),
        # Defaults in the database too: code from before this migration still records runs.
        migrations.RunSQL(
            "ALTER TABLE scoring_rescorerun ALTER COLUMN slices SET DEFAULT '{}',"
            " ALTER COLUMN slices_done SET DEFAULT '{}'",
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="rescorerun",
            index=models.Index(fields=["as_of"], name="rescorerun_as_of"),
        ),
        # The times of a once-per-period rule, aggregated by slices of the events, put together
        # per lead (scoring.sql.ARRAY_CAT).
        migrations.RunSQL(
            "CREATE AGGREGATE scoring_float8_array_cat(float8[])"
            " (SFUNC = array_cat, STYPE = float8[])",
            "DROP AGGREGATE scoring_float8_array_cat(float8[])",
        ),
    ]

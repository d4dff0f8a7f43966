from django.db import migrations, models

from leadflow.reports.histograms import SQL_FUNCTION


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_visitor_index_backfill"),
    ]

    operations = [
        # The cohorts, velocity and SDR figures now read the histogram rollup.
        migrations.RemoveIndex(model_name="leadjourney", name="journey_lead_at_went_on"),
        migrations.RemoveIndex(model_name="leadjourney", name="journey_sql_at"),
        migrations.RemoveIndex(model_name="leadjourney", name="journey_customer_at"),
        migrations.RemoveIndex(model_name="leadjourney", name="journey_sdr_mql_at"),
        migrations.RunSQL(SQL_FUNCTION, "DROP FUNCTION IF EXISTS reports_duration_bucket(numeric)"),
        migrations.AddField(
            model_name="journeyday",
            name="attempts",
            field=models.IntegerField(default=0),
        ),
        migrations.CreateModel(
            name="JourneyDuration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=20)),
                (
                    "span",
                    models.CharField(
                        choices=[("d", "day"), ("w", "week"), ("m", "month")], max_length=1
                    ),
                ),
                ("day", models.DateField()),
                ("key", models.CharField(blank=True, max_length=20)),
                ("bucket", models.SmallIntegerField()),
                ("n", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "span", "day", "key", "bucket"),
                        name="journeyduration_kind_span_day_key_bucket",
                    )
                ],
            },
        ),
        # The rollups are rebuilt by 0004, with the columns it adds.
    ]

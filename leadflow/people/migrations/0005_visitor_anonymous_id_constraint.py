from django.db import migrations, models


class Migration(migrations.Migration):
    """Visitor rows are written on every tracked call: one index fewer to write for a new
    browser (the LIKE index that `unique=True` brings), and room in each page for the update of
    `last_seen_at` to stay on its page (a HOT update writes no index at all)."""

    dependencies = [
        ("people", "0004_contact_search_prefixes"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="visitor",
            constraint=models.UniqueConstraint(
                fields=("anonymous_id",), name="visitor_anonymous_id_unique"
            ),
        ),
        migrations.AlterField(
            model_name="visitor",
            name="anonymous_id",
            field=models.CharField(max_length=200),
        ),
        migrations.RunSQL(
            "ALTER TABLE people_visitor SET (fillfactor = 90)",
            "ALTER TABLE people_visitor RESET (fillfactor)",
        ),
    ]

import django_fsm
from django.db import migrations, models


class Migration(migrations.Migration):
    """One index on (stage, id) for the API's list of a stage, in place of the two that
    `db_index=True` made (the second for LIKE): nothing read them, and every lead written
    outside its page wrote an entry in each."""

    dependencies = [
        ("stages", "0004_reps_owners_notifications_notes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="lead",
            name="stage",
            field=django_fsm.FSMField(
                choices=[
                    ("visitor", "Visitor"),
                    ("lead", "Lead"),
                    ("mql", "MQL"),
                    ("sql", "SQL"),
                    ("customer", "Customer"),
                    ("disqualified", "Disqualified"),
                ],
                default="visitor",
                max_length=50,
                protected=True,
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["stage", "-id"], name="lead_stage_id"),
        ),
    ]

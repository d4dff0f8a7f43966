from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_journey_durations"),
    ]

    operations = [
        # The SDR table reads the first-touch histogram only: attempts and SQLs ride along.
        migrations.RemoveField(model_name="journeyday", name="attempts"),
        migrations.AddField(
            model_name="journeyduration",
            name="attempts",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="journeyduration",
            name="sqls",
            field=models.IntegerField(default=0),
        ),
        # The rollups are rebuilt by 0005.
    ]

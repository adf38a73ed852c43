from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("open311", "0002_sender_metadata_and_media_links")]

    operations = [
        migrations.AddField(
            model_name="partnersubmission",
            name="media_fetches",
            field=models.JSONField(blank=True, default=list, verbose_name="media fetched"),
        ),
    ]

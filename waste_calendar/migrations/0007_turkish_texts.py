"""Turkish names and hints of the waste types; the standard types get theirs from data/waste_types.json."""

import json
from pathlib import Path

from django.db import migrations, models

TYPES_FILE = Path(__file__).resolve().parent.parent / "data" / "waste_types.json"


def fill_turkish(apps, schema_editor):
    WasteType = apps.get_model("waste_calendar", "WasteType")
    for entry in json.loads(TYPES_FILE.read_text(encoding="utf-8")):
        # Empty only: a text staff already wrote is kept.
        WasteType.objects.filter(key=entry["key"], name_tr="").update(name_tr=entry.get("name_tr", ""))
        WasteType.objects.filter(key=entry["key"], hints_tr="").update(hints_tr=entry.get("hints_tr", ""))


class Migration(migrations.Migration):

    dependencies = [
        ('waste_calendar', '0006_reminder_times_labels'),
    ]

    operations = [
        migrations.AddField(
            model_name='wastetype',
            name='hints_tr',
            field=models.TextField(blank=True, verbose_name='disposal hints (Turkish)'),
        ),
        migrations.AddField(
            model_name='wastetype',
            name='name_tr',
            field=models.CharField(blank=True, max_length=80, verbose_name='name (Turkish)'),
        ),
        migrations.RunPython(fill_turkish, migrations.RunPython.noop),
    ]

"""The standard waste types of Castrop-Rauxel, so imports work on a fresh database (staff may edit them)."""

import json
from pathlib import Path

from django.db import migrations

# Types staff deleted are not recreated by later migrations; get_or_create never overwrites their edits.
TYPES_FILE = Path(__file__).resolve().parent.parent / "data" / "waste_types.json"


def seed(apps, schema_editor):
    WasteType = apps.get_model("waste_calendar", "WasteType")
    # Only the columns this migration knows: later ones (name_tr, 0007) are filled by their own migration.
    known = {field.name for field in WasteType._meta.get_fields()}
    for position, entry in enumerate(json.loads(TYPES_FILE.read_text(encoding="utf-8"))):
        defaults = {name: value for name, value in entry.items() if name in known}
        WasteType.objects.get_or_create(key=entry["key"], defaults={**defaults, "position": position})


class Migration(migrations.Migration):
    dependencies = [("waste_calendar", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

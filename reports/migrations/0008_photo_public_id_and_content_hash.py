"""Stable public photo URLs: each photo gets a random public id and a hash of its content.

Photos stored before have no hash of their content at hand (reading every object back from S3 in a
migration would take long): their hash is taken of the stored file's name instead, which is as unique
and changes with the file just the same.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import migrations, models

import reports.models


def backfill(apps: Any, schema_editor: Any) -> None:
    ReportPhoto = apps.get_model("reports", "ReportPhoto")
    for photo in ReportPhoto.objects.only("pk", "image").iterator():
        photo.public_id = secrets.token_hex(8)
        photo.content_hash = hashlib.sha256(str(photo.image).encode()).hexdigest()[:16]
        photo.save(update_fields=["public_id", "content_hash"])


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_description_up_to_open311_limit")]

    operations = [
        migrations.AddField(
            model_name="reportphoto",
            name="public_id",
            field=models.CharField(editable=False, max_length=16, null=True),
        ),
        migrations.AddField(
            model_name="reportphoto",
            name="content_hash",
            field=models.CharField(editable=False, max_length=16, default=""),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="reportphoto",
            name="public_id",
            field=models.CharField(
                default=reports.models.photo_public_id, editable=False, max_length=16, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="reportphoto",
            name="content_hash",
            field=models.CharField(
                default=reports.models.photo_unknown_content_hash, editable=False, max_length=16
            ),
        ),
    ]

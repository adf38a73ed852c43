"""The approved photos of a campaign as one ZIP, for the city's other channels (website, print, social).

The archive holds each approved photo (the published JPEG) and a manifest, ``manifest.csv`` and
``manifest.json``, with the text as approved and the consent on record for each file. It is made on
request from what is approved at that moment: a photo withdrawn or removed is in no later archive.
Nothing of the sender's installation is in it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import zipfile
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from casapp.spreadsheets import spreadsheet_safe
from push.participation.models import Participation
from push.participation.selectors import gallery_queryset

logger = logging.getLogger("push.participation")

MANIFEST_FIELDS = [
    "file",
    "submission",
    "text",
    "consent_to_publication_at",
    "sent_for_child",
    "parental_consent",
    "published_at",
    "width",
    "height",
]


def archive_file_name(participation: Participation) -> str:
    return f"mitmach-aktion-{participation.pk}-{timezone.localdate():%Y-%m-%d}.zip"


def archive_write(*, participation: Participation, target: IO[bytes]) -> int:
    """Writes the ZIP of ``participation``'s approved photos to ``target``; returns how many it holds.

    Photos are copied from the storage in chunks, never held in memory whole. A photo whose file the
    storage no longer has is left out of archive and manifest (and logged).
    """
    berlin = ZoneInfo(settings.TIME_ZONE)
    manifest: list[dict[str, Any]] = []
    # Stored, not deflated: JPEGs do not compress, and storing keeps the archive quick to make.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for submission in gallery_queryset(participation=participation).order_by("published_at", "pk"):
            name = f"{len(manifest) + 1:04d}-{submission.pk}.jpg"
            try:
                source = default_storage.open(submission.photo.name, "rb")
            except (FileNotFoundError, OSError):
                logger.warning("campaign photo missing in storage", extra={"submission": submission.pk})
                continue
            with source, archive.open(name, "w") as entry:
                shutil.copyfileobj(source, entry, length=1024 * 1024)
            manifest.append(
                {
                    "file": name,
                    "submission": submission.pk,
                    "text": submission.public_text,
                    "consent_to_publication_at": submission.consented_at.astimezone(berlin).isoformat(),
                    "sent_for_child": submission.is_child,
                    "parental_consent": submission.parental_consent,
                    "published_at": _berlin(submission.published_at, berlin),
                    "width": submission.width,
                    "height": submission.height,
                }
            )
        archive.writestr("manifest.csv", _csv(manifest))
        document = {
            "campaign": participation.pk,
            "title": str(participation.notification),
            "exported_at": timezone.now().astimezone(berlin).isoformat(),
            "photos": manifest,
        }
        archive.writestr("manifest.json", json.dumps(document, ensure_ascii=False, indent=2))
    return len(manifest)


def _berlin(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat() if moment is not None else ""


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    # A byte-order mark: Excel, the city's usual reader, then opens UTF-8 (umlauts) correctly.
    buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "text": spreadsheet_safe(row["text"])})
    return buffer.getvalue()

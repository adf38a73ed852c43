"""Writes of the Open311 layer: issuing partner keys and filing a partner's service request.

A service request becomes a report through ``reports.services.report_create``, with the same checks
(boundary, category, answers, contact data) and the same workflow afterwards; this module only adds
which partner filed it.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casapp.errors import DomainError, Forbidden
from casapp.models import hash_secret
from reports.models import Category, Report
from reports.open311 import media
from reports.open311.models import PartnerApiKey, PartnerSubmission, PartnerUpdate
from reports.photos import photo_process, photos_process
from reports.services import MAX_PHOTOS, report_create, report_partner_comment, report_photos_add

# Writing last_used_at at most this often keeps a busy partner from writing a row per request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def partner_key_create(*, name: str, contact: str = "", created_by: Any = None) -> tuple[PartnerApiKey, str]:
    """Issues a key and returns it with its secret; the secret is not stored and cannot be shown again."""
    secret = PartnerApiKey.new_key()
    key = PartnerApiKey(name=name, contact=contact, created_by=created_by)
    key.set_key(secret)
    key.save()
    return key, secret


def partner_key_authenticate(*, secret: str) -> PartnerApiKey | None:
    """The usable (issued, not revoked) key with this secret, or None; notes when it was last used."""
    key = PartnerApiKey.objects.filter(key_hash=hash_secret(secret)).first() if secret else None
    if key is None or not key.is_usable:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        PartnerApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def service_request_create(
    *,
    api_key: PartnerApiKey,
    category: Category,
    latitude: Any,
    longitude: Any,
    answers: dict[str, Any],
    description: str = "",
    address: str = "",
    photos: Sequence[UploadedFile] = (),
    media_urls: Sequence[str] = (),
    sender_metadata: dict[str, Any] | None = None,
    sender_reference: str = "",
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
) -> tuple[Report, PartnerSubmission]:
    """Files the partner's request as a report and records the partner and a lookup token with it.

    Contact data a partner sends counts as consented: issuing a key binds the partner to forward only
    data the citizen gave to be contacted about this report (docs/open311.md). It is private and erased
    after the retention period like the app's. The sender's metadata (attributes the service definition
    does not list) and every media link are kept with the submission, for staff only; the report's
    public ``media_url`` is the first link. ``photos`` (file parts) go through the app's photo pipeline
    in ``report_create``, all or nothing. Links to hosts the operator listed in
    ``OPEN311_MEDIA_FETCH_HOSTS`` are fetched by a worker after commit (``reports.open311.media``), never
    in the request.
    """
    if latitude is None or longitude is None:
        # No geocoder: an address alone cannot be placed (docs/open311.md, "Location").
        raise DomainError(
            _(
                "A position is required in Castrop-Rauxel: send lat and long. An address_string or "
                "address_id alone cannot be located (there is no geocoder)."
            ),
            code="location_required",
            field="location",
        )
    if len(photos) > MAX_PHOTOS:
        raise DomainError(_("At most 5 photos."), code="too_many_photos", field="photos")
    # Decoded before the transaction: on SQLite it holds the write lock from its start.
    processed = photos_process(photos, field="photos")
    with transaction.atomic():
        report, _created = report_create(
            installation=None,
            category=category,
            latitude=latitude,
            longitude=longitude,
            description=description,
            address=address,
            answers=answers,
            processed_photos=processed,
            media_url=media_urls[0] if media_urls else "",
            contact_name=contact_name,
            contact_email=contact_email,
            contact_phone=contact_phone,
            contact_consent=bool(contact_name or contact_email or contact_phone),
        )
        submission = PartnerSubmission.objects.create(
            report=report,
            api_key=api_key,
            token=secrets.token_hex(16),
            sender_metadata=sender_metadata or {},
            sender_reference=sender_reference,
            media_urls=list(media_urls),
        )
        if media.fetch_planned(links=media_urls, photos_stored=len(photos)):
            from reports.open311.tasks import fetch_partner_media

            transaction.on_commit(lambda: fetch_partner_media.delay(submission.pk))
    return report, submission


def partner_media_fetch(*, submission_id: int) -> bool:
    """Fetches the submission's links to listed hosts (``reports.open311.media``) that have no outcome yet,
    stores each picture the photo pipeline accepts as a photo of the report, and records per link what
    became of it (``stored``, ``refused``, ``failed``) for staff. Links already decided are not fetched
    again, so a retried or redelivered task repeats nothing. Returns whether a link failed in a way that
    may pass later (unreachable, too slow, a server error): the task may then try again."""
    submission = PartnerSubmission.objects.select_related("report").filter(pk=submission_id).first()
    if submission is None:
        return False
    decided = {entry["url"] for entry in submission.media_fetches if entry.get("outcome") != "failed"}
    photos_stored = submission.report.photos.count()
    outcomes: list[dict[str, str]] = []
    retry = False
    for link in media.fetch_planned(links=submission.media_urls, photos_stored=0):
        if link in decided:
            continue
        if photos_stored >= MAX_PHOTOS:
            outcomes.append(media.outcome(link, "refused", "photo_limit"))
            continue
        try:
            processed = photo_process(io.BytesIO(media.media_fetch(link)), field="media_url")
        except media.MediaRefused as refusal:
            outcomes.append(media.outcome(link, "refused", refusal.reason))
        except media.MediaUnavailable as failure:
            outcomes.append(media.outcome(link, "failed", failure.reason))
            retry = True
        except DomainError as refusal:  # the photo pipeline: not a picture we take, too large, damaged
            outcomes.append(media.outcome(link, "refused", refusal.code))
        else:
            photos_stored += len(report_photos_add(report=submission.report, photos=[processed]))
            outcomes.append(media.outcome(link, "stored"))
    if outcomes:
        with transaction.atomic():
            locked = PartnerSubmission.objects.select_for_update().get(pk=submission.pk)
            fetched = {entry["url"] for entry in outcomes}
            kept = [entry for entry in locked.media_fetches if entry["url"] not in fetched]
            locked.media_fetches = [*kept, *outcomes]
            locked.save(update_fields=["media_fetches"])
    return retry


def service_request_update_create(
    *,
    api_key: PartnerApiKey,
    report: Report,
    description: str,
    still_broken: bool,
    written_at: datetime,
    partner_update_id: str = "",
    media_urls: Sequence[str] = (),
) -> PartnerUpdate:
    """Records a citizen's comment (or "still broken") that a partner passes on for a request it filed.

    Only the partner that filed ``report`` may (``Forbidden`` otherwise). The words go to staff through
    ``reports.services.report_partner_comment`` (which reopens where the app's reopen would). The same
    ``partner_update_id`` sent again (a partner retrying after a lost answer) returns the update recorded
    the first time and stores nothing.
    """
    submission = getattr(report, "open311_submission", None)
    if submission is None or submission.api_key_id != api_key.pk:
        raise Forbidden(
            _("This request was not filed with this api_key."),
            code="not_partners_request",
            field="service_request_id",
        )
    if partner_update_id and (earlier := _earlier_update(api_key, partner_update_id, report)) is not None:
        return earlier
    try:
        with transaction.atomic():
            event, reopened = report_partner_comment(
                report=report, message=description, still_broken=still_broken, written_at=written_at
            )
            return PartnerUpdate.objects.create(
                api_key=api_key,
                report=report,
                event=event,
                partner_update_id=partner_update_id,
                reopened=reopened,
                media_urls=list(media_urls),
            )
    except IntegrityError:
        # The same update raced in twice: the first one won.
        if partner_update_id and (earlier := _earlier_update(api_key, partner_update_id, report)) is not None:
            return earlier
        raise


def _earlier_update(api_key: PartnerApiKey, partner_update_id: str, report: Report) -> PartnerUpdate | None:
    earlier = PartnerUpdate.objects.filter(api_key=api_key, partner_update_id=partner_update_id).first()
    if earlier is not None and earlier.report_id != report.pk:
        raise DomainError(
            _("This update_id was already sent for service_request_id %(id)s.") % {"id": earlier.report_id},
            code="update_id_reused",
            field="update_id",
        )
    return earlier

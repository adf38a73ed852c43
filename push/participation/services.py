"""Every write of Mitmach-Aktionen: sending a photo, withdrawing it, moderating it."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any, BinaryIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from casapp.errors import Conflict, DomainError, NotFound
from casapp.images import image_sanitise
from push.models import Installation
from push.participation.models import (
    PHOTO_EDGE,
    THUMBNAIL_EDGE,
    Participation,
    Submission,
    SubmissionStatus,
)

# The field photo errors name in the API (``photo``), as the request calls it.
PHOTO_FIELD = "photo"


def submission_create(
    *,
    participation: Participation,
    installation: Installation,
    photo: UploadedFile | BinaryIO,
    text: str = "",
    consent_publication: bool = False,
    is_child: bool = False,
    parental_consent: bool = False,
) -> Submission:
    """Stores one photo with its text for moderation, or refuses it; nothing is stored when refused.

    Guarantees: the campaign is open (409 ``participation_closed``); consent to publication was given
    (400 ``consent_required``) and, for a child, a parent's agreement (400 ``parental_consent_required``);
    the installation has not used up ``max_submissions`` for this campaign (409 ``submission_limit``,
    counted under a lock of the campaign, so parallel uploads cannot exceed it); the photo passed
    ``casapp.images.image_sanitise`` (no metadata, upright, at most PHOTO_EDGE px) before anything is
    written. The new submission awaits moderation and is not public.
    """
    now = timezone.now()
    if not participation.is_open(now=now):
        raise Conflict(_("This campaign is not open for photos."), code="participation_closed")
    if not consent_publication:
        raise DomainError(
            _("Please agree that the city may publish the photo and its text."),
            code="consent_required",
            field="consent_publication",
        )
    if is_child and not parental_consent:
        raise DomainError(
            _("For a child, a parent must agree to the publication."),
            code="parental_consent_required",
            field="parental_consent",
        )
    _refuse_over_limit(participation=participation, installation=installation)
    image = image_sanitise(photo, field=PHOTO_FIELD, max_edge=PHOTO_EDGE, thumbnail_edge=THUMBNAIL_EDGE)
    if image.thumbnail is None:  # pragma: no cover - asked for above
        raise RuntimeError("the pipeline made no thumbnail")
    with transaction.atomic():
        # The lock orders parallel uploads of the same campaign, so the count below is exact.
        Participation.objects.select_for_update().filter(pk=participation.pk).first()
        _refuse_over_limit(participation=participation, installation=installation)
        submission = Submission(
            participation=participation,
            installation=installation,
            text=text.strip(),
            consented_at=now,
            is_child=is_child,
            parental_consent=parental_consent,
            width=image.width,
            height=image.height,
        )
        # Random names: a file name must not reveal the campaign's order of uploads to a guesser.
        submission.photo.save(f"{_token()}.jpg", ContentFile(image.data), save=False)
        submission.thumbnail.save(f"{_token()}-thumb.jpg", ContentFile(image.thumbnail), save=False)
        stored = [submission.photo.name, submission.thumbnail.name]
        try:
            submission.save()
        except Exception:
            _files_delete(stored)
            raise
    return submission


def _refuse_over_limit(*, participation: Participation, installation: Installation) -> None:
    sent = Submission.objects.filter(participation=participation, installation=installation).count()
    if sent >= participation.max_submissions:
        raise Conflict(
            ngettext(
                "You have sent %(count)d photo to this campaign, as many as it takes.",
                "You have sent %(count)d photos to this campaign, as many as it takes.",
                participation.max_submissions,
            )
            % {"count": participation.max_submissions},
            code="submission_limit",
        )


def _token() -> str:
    return secrets.token_urlsafe(16)


def submission_withdraw(*, installation: Installation, participation_id: int, submission_id: int) -> None:
    """The sender withdraws consent: the submission and its files are erased, whatever its status.

    Guarantees: only the installation that sent it can (anyone else: 404, as for a submission that does
    not exist); once committed, the gallery and every later archive lack it and the storage holds
    neither the photo nor its thumbnail.
    """
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update()
            .filter(pk=submission_id, participation_id=participation_id, installation=installation)
            .first()
        )
        if submission is None:
            raise NotFound(_("No such photo of yours."), code="not_found")
        _erase([submission])


def submissions_erase_for_installation(*, installation: Installation, **kwargs: Any) -> None:
    """Receiver of ``push.signals.installation_erasing``: erasing an installation withdraws its consent."""
    _erase(Submission.objects.filter(installation=installation))


def _erase(submissions: Iterable[Submission]) -> None:
    rows = list(submissions)
    names = [name for submission in rows for name in _file_names(submission)]
    Submission.objects.filter(pk__in=[submission.pk for submission in rows]).delete()
    # After commit: a rolled-back erasure must not have lost the files of rows that still exist.
    transaction.on_commit(lambda: _files_delete(names))


def _file_names(submission: Submission) -> list[str]:
    return [field.name for field in (submission.photo, submission.thumbnail) if field and field.name]


def _files_delete(names: Iterable[str]) -> None:
    for name in names:
        default_storage.delete(name)


# --- Moderation in the workspace


class Decision:
    APPROVE = "approve"
    REJECT = "reject"
    REMOVE = "remove"


# The status each decision leads to, the status it starts from, and the refusal otherwise.
_TRANSITIONS = {
    Decision.APPROVE: (
        SubmissionStatus.APPROVED,
        SubmissionStatus.PENDING,
        _("Only photos awaiting moderation can be approved."),
    ),
    Decision.REJECT: (
        SubmissionStatus.REJECTED,
        SubmissionStatus.PENDING,
        _("Only photos awaiting moderation can be rejected."),
    ),
    Decision.REMOVE: (
        SubmissionStatus.REMOVED,
        SubmissionStatus.APPROVED,
        _("Only approved photos can be removed."),
    ),
}


def submission_moderate(
    *,
    submission: Submission,
    actor: Any,
    decision: str,
    public_text: str | None = None,
    note: str = "",
) -> Submission:
    """Approves a pending photo (published with ``public_text``: the sent text unless given), rejects a
    pending one or removes an approved one, recording who decided when.

    Guarantees: only these transitions (otherwise 409 ``invalid_transition``); approving without consent
    on record is impossible (the row exists only with it); rejecting and removing delete the photo's
    files after commit, so nothing of it stays public or in later archives.
    """
    target, source, refusal = _TRANSITIONS[decision]
    with transaction.atomic():
        current = Submission.objects.select_for_update().get(pk=submission.pk)
        if current.status != source:
            raise Conflict(refusal, code="invalid_transition")
        now = timezone.now()
        current.status = target
        current.moderated_by = actor
        current.moderated_at = now
        current.moderation_note = note.strip()[:200]
        if target == SubmissionStatus.APPROVED:
            current.public_text = (current.text if public_text is None else public_text).strip()
            current.published_at = now
        else:
            names = _file_names(current)
            current.photo = ""
            current.thumbnail = ""
            current.public_text = ""
            current.published_at = None
            transaction.on_commit(lambda: _files_delete(names))
        current.save()
    return current

"""Every write of the Mängelmelder: submitting, supporting, the triage workflow, moderation, retention."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from casapp.errors import Conflict, DomainError, Forbidden
from push.models import Installation
from reports import geo
from reports.alerts import report_intake_alert_queue
from reports.answers import validate_answers
from reports.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Category,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
    ReportSupport,
)
from reports.notify import report_status_notify
from reports.photos import ProcessedPhoto, photos_process
from reports.staff_selectors import report_assignees
from reports.workdays import first_response_due

logger = logging.getLogger("reports")

MAX_PHOTOS = 5

S = ReportStatus
# Staff transitions; withdrawing and reopening are the reporter's (see report_withdraw, report_reopen).
ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.RECEIVED: (S.IN_REVIEW, S.IN_PROGRESS, S.DONE, S.REJECTED, S.DUPLICATE, S.NOT_RESPONSIBLE),
    S.IN_REVIEW: (S.IN_PROGRESS, S.DONE, S.REJECTED, S.DUPLICATE, S.NOT_RESPONSIBLE),
    S.IN_PROGRESS: (S.DONE, S.REJECTED, S.DUPLICATE, S.NOT_RESPONSIBLE),
    S.DONE: (S.IN_PROGRESS,),
    S.REJECTED: (S.IN_REVIEW,),
    S.NOT_RESPONSIBLE: (S.IN_REVIEW,),
    S.DUPLICATE: (),
    S.WITHDRAWN: (),
}


def _event(report: Report, kind: str, *, actor: Any = None, **fields: Any) -> ReportEvent:
    return ReportEvent.objects.create(report=report, kind=kind, actor=actor, **fields)


# --- Submitting


def report_create(
    *,
    installation: Installation | None,
    category: Category,
    latitude: Any,
    longitude: Any,
    description: str = "",
    address: str = "",
    answers: dict[str, Any] | None = None,
    photos: Sequence[Any] = (),
    processed_photos: Sequence[ProcessedPhoto] = (),
    media_url: str = "",
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    contact_consent: bool = False,
    idempotency_key: str = "",
) -> tuple[Report, bool]:
    """Files a report, or returns the one filed earlier with the same idempotency key (``created`` False).

    Location, category, answers and photos are all validated before anything is stored; photos are
    decoded, cleaned of every metadata block and re-encoded before the transaction starts.
    ``installation`` is None for a report a partner system filed (``reports.open311`` records which);
    such a report has no idempotency (the key is scoped by installation) and nobody to push to.
    ``processed_photos`` are photos a caller already put through ``photos_process`` (to decode them before
    a transaction of its own), stored after ``photos``. ``media_url`` is kept as a link the caller
    checked; this service never fetches it (Open311's worker may, for listed hosts:
    ``reports.open311.media``).
    """
    if (
        idempotency_key
        and installation is not None
        and (earlier := _earlier(installation, idempotency_key)) is not None
    ):
        return earlier, False
    if not category.is_leaf or not category.is_active:
        raise DomainError(_("Choose an active category."), code="invalid_category", field="category")
    lat, lon = geo.validate_location(latitude=latitude, longitude=longitude)
    clean_answers = validate_answers(category, answers or {})
    if len(photos) + len(processed_photos) > MAX_PHOTOS:
        raise DomainError(_("At most 5 photos."), code="too_many_photos", field="photos")
    if (contact_name or contact_email or contact_phone) and not contact_consent:
        raise DomainError(
            _("Please agree to be contacted, or leave the contact fields empty."),
            code="consent_required",
            field="contact_consent",
        )
    processed = [*photos_process(photos, field="photos"), *processed_photos]
    try:
        with transaction.atomic():
            report = Report.objects.create(
                installation=installation,
                category=category,
                description=description.strip(),
                latitude=lat,
                longitude=lon,
                address=address.strip(),
                media_url=media_url,
                stadtteil=geo.stadtteil_for(latitude=lat, longitude=lon),
                answers=clean_answers,
                contact_name=contact_name.strip() if contact_consent else "",
                contact_email=contact_email if contact_consent else "",
                contact_phone=contact_phone if contact_consent else "",
                contact_consent=contact_consent,
                idempotency_key=idempotency_key,
                first_response_due_at=first_response_due(
                    received_at=timezone.now(), working_days=category.first_response_days
                ),
            )
            for position, photo in enumerate(processed):
                _photo_store(report, photo, position=position)
            _event(report, ReportEvent.Kind.CREATED, to_status=S.RECEIVED, is_public=True)
            report_intake_alert_queue(report=report)
    except IntegrityError:
        # The same key raced in from a second request of the same phone: the first one won.
        if (
            idempotency_key
            and installation is not None
            and (earlier := _earlier(installation, idempotency_key)) is not None
        ):
            return earlier, False
        raise
    return report, True


@transaction.atomic
def report_photos_add(*, report: Report, photos: Sequence[ProcessedPhoto]) -> list[ReportPhoto]:
    """Stores photos already through the pipeline (``reports.photos``) after the report's others, up to
    MAX_PHOTOS in all (the rest are not stored), and marks the report changed so that readers syncing by
    ``updated_at`` see them. For photos that arrive after filing (an Open311 partner's fetched links)."""
    locked = Report.objects.select_for_update().get(pk=report.pk)
    present = ReportPhoto.objects.filter(report=locked).count()
    last = ReportPhoto.objects.filter(report=locked).order_by("-position").values_list("position", flat=True)
    position = (last.first() or 0) + 1 if present else 0
    stored = [
        _photo_store(locked, photo, position=position + offset)
        for offset, photo in enumerate(photos[: max(0, MAX_PHOTOS - present)])
    ]
    if stored:
        Report.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    return stored


def _earlier(installation: Installation, key: str) -> Report | None:
    return Report.objects.filter(installation=installation, idempotency_key=key).first()


def _photo_store(report: Report, photo: ProcessedPhoto, *, position: int) -> ReportPhoto:
    stored = ReportPhoto(
        report=report, position=position, content_hash=hashlib.sha256(photo.image).hexdigest()[:16]
    )
    # Random names: the file name must not reveal the report or the order of uploads to a guesser.
    stored.image.save(f"{timezone.now():%Y%m%d}-{_token()}.jpg", ContentFile(photo.image), save=False)
    stored.thumbnail.save(
        f"{timezone.now():%Y%m%d}-{_token()}-thumb.jpg", ContentFile(photo.thumbnail), save=False
    )
    stored.width, stored.height = photo.width, photo.height
    stored.save()
    return stored


def _token() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def report_support(*, report: Report, installation: Installation) -> Report:
    """ "Me too" from another installation, once each, for open reports only."""
    if report.status not in OPEN_STATUSES or report.hidden:
        raise Conflict(_("Only open reports can be supported."), code="report_closed")
    if report.installation_id == installation.pk:
        raise Conflict(_("You reported this yourself."), code="own_report")
    _support, created = ReportSupport.objects.get_or_create(report=report, installation=installation)
    if created:
        Report.objects.filter(pk=report.pk).update(support_count=F("support_count") + 1)
        report.refresh_from_db(fields=["support_count"])
    return report


# --- Reporter


@transaction.atomic
def report_withdraw(*, report: Report, installation: Installation, message: str = "") -> Report:
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.installation_id != installation.pk:
        raise Forbidden(_("Only the reporter can withdraw a report."), code="not_reporter")
    if report.status != S.RECEIVED:
        raise Conflict(
            _("A report can be withdrawn only while it is still received."), code="invalid_transition"
        )
    # The reporter's own words may hold personal details: staff see them, the open data does not.
    return _set_status(report, S.WITHDRAWN, actor=None, internal_note=message, notify=False)


@transaction.atomic
def report_reopen(*, report: Report, installation: Installation, message: str) -> Report:
    """ "Immer noch defekt": the reporter reopens a done report within REPORT_REOPEN_DAYS."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.installation_id != installation.pk:
        raise Forbidden(_("Only the reporter can reopen a report."), code="not_reporter")
    if not message.strip():
        raise DomainError(_("Please say what is still wrong."), code="message_required", field="message")
    _check_reopenable(report)
    return _set_status(report, S.IN_REVIEW, actor=None, internal_note=message, notify=False)


def _check_reopenable(report: Report) -> None:
    window = timedelta(days=settings.REPORT_REOPEN_DAYS)
    if report.status != S.DONE or report.closed_at is None or timezone.now() - report.closed_at > window:
        raise Conflict(
            _("Only reports done within the last %(days)d days can be reopened.") % {"days": window.days},
            code="invalid_transition",
        )


@transaction.atomic
def report_partner_comment(
    *, report: Report, message: str, still_broken: bool, written_at: datetime
) -> tuple[ReportEvent, bool]:
    """A citizen's words that the partner system which filed ``report`` passed on (``reports.open311``).

    The words are the citizen's and may hold personal details: staff see them, the public does not.
    ``still_broken`` reopens a report done within ``REPORT_REOPEN_DAYS`` (to in review, as the reporter's
    reopen in the app does; the words are its note); a report closed otherwise, or longer ago, cannot be
    reopened (``Conflict``). Words written before the report was closed do not reopen it: the partner had
    not seen the closing yet, so they are a comment. Returns the event recorded and whether it reopened.
    """
    report = Report.objects.select_for_update().get(pk=report.pk)
    if not message.strip():
        raise DomainError(_("Please say what is still wrong."), code="message_required", field="message")
    closed_before = report.closed_at is not None and report.closed_at <= written_at
    if still_broken and report.status in CLOSED_STATUSES and closed_before:
        _check_reopenable(report)
        _set_status(report, S.IN_REVIEW, actor=None, internal_note=message.strip(), notify=False)
        event = ReportEvent.objects.filter(report=report, kind=ReportEvent.Kind.STATUS).latest("id")
        return event, True
    return _event(report, ReportEvent.Kind.PARTNER_COMMENT, internal_note=message.strip()), False


# --- Staff


def _set_status(
    report: Report,
    status: str,
    *,
    actor: Any,
    public_message: str = "",
    internal_note: str = "",
    notify: bool = True,
) -> Report:
    before = report.status
    now = timezone.now()
    report.status = status
    fields = ["status", "updated_at"]
    if actor is not None and report.first_response_at is None:
        report.first_response_at = now
        fields.append("first_response_at")
    report.closed_at = now if status in CLOSED_STATUSES else None
    fields.append("closed_at")
    report.save(update_fields=fields)
    event = _event(
        report,
        ReportEvent.Kind.STATUS,
        actor=actor,
        from_status=before,
        to_status=status,
        public_message=public_message,
        internal_note=internal_note,
        is_public=True,
    )
    if notify:
        transaction.on_commit(lambda: report_status_notify(report_id=report.pk, event_id=event.pk))
    return report


def _check_transition(report: Report, status: str) -> None:
    if status not in ALLOWED_TRANSITIONS.get(report.status, ()):
        raise Conflict(
            _("From %(from)s a report cannot go to %(to)s.")
            % {
                "from": report.get_status_display(),
                "to": ReportStatus(status).label if status in S.values else status,
            },
            code="invalid_transition",
            field="status",
        )


@transaction.atomic
def report_transition(
    *,
    report: Report,
    actor: Any,
    status: str,
    public_message: str = "",
    internal_note: str = "",
    duplicate_of: Report | None = None,
    forwarded_to: str = "",
) -> Report:
    """Moves a report along the workflow; only the allowed transitions, each recorded and pushed."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    _check_transition(report, status)
    if status == S.REJECTED and not public_message.strip():
        raise DomainError(_("Give the reporter a reason."), code="reason_required", field="public_message")
    if status == S.NOT_RESPONSIBLE:
        if not forwarded_to.strip():
            raise DomainError(
                _("Name the responsible authority."), code="authority_required", field="forwarded_to"
            )
        report.forwarded_to = forwarded_to.strip()
        report.save(update_fields=["forwarded_to"])
    if status == S.DUPLICATE:
        return report_merge(
            report=report,
            into=duplicate_of,
            actor=actor,
            public_message=public_message,
            internal_note=internal_note,
        )
    return _set_status(
        report, status, actor=actor, public_message=public_message, internal_note=internal_note
    )


@transaction.atomic
def report_merge(
    *,
    report: Report,
    into: Report | None,
    actor: Any,
    public_message: str = "",
    internal_note: str = "",
) -> Report:
    """Marks ``report`` a duplicate of ``into``; its reporter and supporters move over and are told.
    Only where the workflow allows the step to duplicate (not from done, withdrawn, duplicate)."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    _check_transition(report, S.DUPLICATE)
    if into is None:
        raise DomainError(
            _("Name the report this one duplicates."), code="duplicate_of_required", field="duplicate_of"
        )
    into = Report.objects.select_for_update().get(pk=into.pk)
    if into.pk == report.pk or into.duplicate_of_id is not None or into.status == S.DUPLICATE:
        raise Conflict(_("Merge into an original report."), code="invalid_merge", field="duplicate_of")
    if into.category.department_id != report.category.department_id:
        raise Conflict(_("Both reports must belong to the same department."), code="invalid_merge")
    movers = set(ReportSupport.objects.filter(report=report).values_list("installation_id", flat=True))
    if report.installation_id:
        movers.add(report.installation_id)
    if into.installation_id:
        movers.discard(into.installation_id)
    for installation_id in movers:
        ReportSupport.objects.get_or_create(report=into, installation_id=installation_id)
    into.support_count = ReportSupport.objects.filter(report=into).count()
    into.save(update_fields=["support_count", "updated_at"])
    report.duplicate_of = into
    report.save(update_fields=["duplicate_of"])
    _event(into, ReportEvent.Kind.MERGED, actor=actor, internal_note=f"#{report.pk}")
    return _set_status(
        report, S.DUPLICATE, actor=actor, public_message=public_message, internal_note=internal_note
    )


@transaction.atomic
def report_reroute(*, report: Report, actor: Any, category: Category, reason: str) -> Report:
    """Moves a misrouted open report to another leaf ``category``, possibly of another department.

    The internal ``reason``, the old category and the answers to its questions stay in the history; the
    public timeline says only which department has it now. With the department, the assignment and the
    old department's access go, and the new department gets its intake alerts. Re-routing is not the
    first response: the new department still owes one, by the due time set when the report came in.
    """
    # Only the report's row is locked: PostgreSQL refuses FOR UPDATE on the nullable side of the join.
    report = (
        Report.objects.select_for_update(of=("self",))
        .select_related("category__department")
        .get(pk=report.pk)
    )
    if report.status in CLOSED_STATUSES:
        raise Conflict(
            _("A closed report cannot be forwarded; reopen it first."), code="report_closed", field="category"
        )
    if not reason.strip():
        raise DomainError(_("Give the reason for forwarding."), code="reason_required", field="reason")
    if not category.is_leaf or not category.is_active:
        raise DomainError(
            _("Choose an active category, not a group."), code="invalid_category", field="category"
        )
    if category.pk == report.category_id:
        raise DomainError(
            _("The report is already in this category."), code="same_category", field="category"
        )
    old_category = report.category
    old_department, new_department = old_category.department, category.department
    details = {
        "from_category": {"key": old_category.key, "name": old_category.name_de},
        "to_category": {"key": category.key, "name": category.name_de},
        "from_department": old_department.name if old_department else "",
        "to_department": new_department.name if new_department else "",
        "answers": report.answers,
    }
    report.category = category
    report.answers = {}
    fields = ["category", "answers", "updated_at"]
    if new_department != old_department:
        report.assigned_to = None
        fields.append("assigned_to")
    report.save(update_fields=fields)
    with translation.override(settings.LANGUAGE_CODE):  # public messages are the city's, in German
        public_message = str(_("Forwarded to %(department)s.") % {"department": details["to_department"]})
    _event(
        report,
        ReportEvent.Kind.REROUTED,
        actor=actor,
        internal_note=reason.strip(),
        public_message=public_message,
        is_public=True,
        details=details,
    )
    if new_department != old_department:
        report_intake_alert_queue(report=report)  # the new department hears of it as of a new report
    return report


@transaction.atomic
def report_assign(*, report: Report, actor: Any, assignee: Any) -> Report:
    """Assigns ``report`` to staff who may work on it (``report_assignees``), or to nobody (``None``)."""
    if assignee is not None and not report_assignees(report=report).filter(pk=assignee.pk).exists():
        raise DomainError(
            _("Assign the report to staff of its department."), code="invalid_assignee", field="assignee"
        )
    report.assigned_to = assignee
    report.save(update_fields=["assigned_to", "updated_at"])
    _event(
        report,
        ReportEvent.Kind.ASSIGNED,
        actor=actor,
        internal_note=assignee.get_username() if assignee else "",
    )
    return report


@transaction.atomic
def report_reply(*, report: Report, actor: Any, message: str) -> Report:
    """A public answer to the reporter, pushed like a status change."""
    if not message.strip():
        raise DomainError(_("The reply is empty."), code="message_required", field="message")
    now = timezone.now()
    Report.objects.filter(pk=report.pk, first_response_at__isnull=True).update(first_response_at=now)
    Report.objects.filter(pk=report.pk).update(updated_at=now)
    event = _event(
        report, ReportEvent.Kind.REPLY, actor=actor, public_message=message.strip(), is_public=True
    )
    transaction.on_commit(lambda: report_status_notify(report_id=report.pk, event_id=event.pk))
    return report


def report_note(*, report: Report, actor: Any, note: str) -> ReportEvent:
    if not note.strip():
        raise DomainError(_("The note is empty."), code="note_required", field="note")
    return _event(report, ReportEvent.Kind.NOTE, actor=actor, internal_note=note.strip())


@transaction.atomic
def report_moderate(
    *,
    report: Report,
    actor: Any,
    hide: bool | None = None,
    description: str | None = None,
    remove_photo_ids: Sequence[int] = (),
    event_messages: Mapping[int, str] | None = None,
) -> Report:
    """Hides an abusive report, redacts its text or removes photos; recorded as an internal event.

    ``event_messages`` replaces public messages of the report's timeline (event id → new text, may be
    empty). The original is overwritten, not kept: who redacted and when is recorded on the event.
    Anything but a public message of this report is refused before anything changes.
    """
    report = Report.objects.select_for_update().get(pk=report.pk)
    redacted = _redact_event_messages(report, actor=actor, messages=event_messages or {})
    changes = [f"message #{event_id} redacted" for event_id in redacted]
    if hide is not None and hide != report.hidden:
        report.hidden = hide
        changes.append("hidden" if hide else "shown")
    if description is not None and description != report.description:
        report.description = description
        changes.append("text redacted")
    removed = ReportPhoto.objects.filter(report=report, pk__in=remove_photo_ids, removed=False).update(
        removed=True
    )
    if removed:
        changes.append(f"{removed} photo(s) removed")
    report.save(update_fields=["hidden", "description", "updated_at"])
    if changes:
        _event(report, ReportEvent.Kind.MODERATED, actor=actor, internal_note=", ".join(changes))
    return report


def _redact_event_messages(report: Report, *, actor: Any, messages: Mapping[int, str]) -> list[int]:
    """Overwrites public messages of ``report``'s timeline; the ids of the events changed."""
    if not messages:
        return []
    events = {
        event.pk: event
        for event in ReportEvent.objects.select_for_update().filter(
            report=report, pk__in=list(messages), is_public=True
        )
    }
    unknown = [
        event_id for event_id in messages if event_id not in events or not events[event_id].public_message
    ]
    if unknown:
        raise DomainError(
            _("Only public messages of this report can be redacted: %(ids)s.")
            % {"ids": ", ".join(f"#{event_id}" for event_id in sorted(unknown))},
            code="invalid_event",
            field="redact_messages",
        )
    now = timezone.now()
    changed = []
    for event_id, text in sorted(messages.items()):
        event = events[event_id]
        if text.strip() == event.public_message:
            continue
        event.public_message = text.strip()
        event.redacted_at, event.redacted_by = now, actor
        event.save(update_fields=["public_message", "redacted_at", "redacted_by"])
        changed.append(event_id)
    return changed


# --- Privacy


RETENTION_BATCH = 1000


def reports_erase_contact_after_retention(*, now: Any = None) -> int:
    """Erases contact data and the links to installations ``REPORT_CONTACT_RETENTION_DAYS`` after
    closing: the reporter's and those of its supporters ("me too"; the count stays). Returns the number
    of reports erased."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REPORT_CONTACT_RETENTION_DAYS)
    due = Report.objects.filter(
        closed_at__lt=cutoff, status__in=CLOSED_STATUSES, contact_erased_at__isnull=True
    )
    erased = 0
    while batch := list(due.values_list("pk", flat=True)[:RETENTION_BATCH]):
        with transaction.atomic():
            ReportSupport.objects.filter(report_id__in=batch).delete()
            erased += Report.objects.filter(pk__in=batch).update(
                installation=None,
                contact_name="",
                contact_email="",
                contact_phone="",
                contact_consent=False,
                contact_erased_at=now,
            )
    return erased


def reports_unlink_installation(*, installation: Installation) -> int:
    """The installation is being erased: its reports lose their link and contact data at once."""
    supported = list(
        ReportSupport.objects.filter(installation=installation).values_list("report_id", flat=True)
    )
    ReportSupport.objects.filter(installation=installation).delete()
    Report.objects.filter(pk__in=supported).update(support_count=F("support_count") - 1)
    return Report.objects.filter(installation=installation).update(
        installation=None,
        contact_name="",
        contact_email="",
        contact_phone="",
        contact_consent=False,
        contact_erased_at=timezone.now(),
    )

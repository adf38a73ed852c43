"""E-mail to the staff about new reports: an alert per report, hourly and daily digests, shared inboxes.

Through the staff e-mail outbox (``casapp.outbox``): the web process only writes rows (``IntakeAlert``,
``AlertDigest``) in its own transaction; workers send them after commit. A failing mail server leaves a row
unsent with its error: the task retries with backoff, and a periodic sweep resends pending alerts (a digest
still unsent is queued again by the next digest run), so an alert is neither lost nor sent twice. No
e-mail carries the reporter's contact data or photos: number, category, place, the start of the
description and a link into the workspace.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from functools import partial

from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casapp.outbox import (
    Outbox,
    berlin_time,
    outbox_send_after_commit,
    outbox_send_one,
    text_preview,
    workspace_link,
)
from reports.models import (
    AlertDigest,
    AlertFrequency,
    AlertPreference,
    Department,
    IntakeAlert,
    Report,
)
from reports.staff_selectors import alert_recipients, reports_of_member, reports_overdue
from reports.workdays import BERLIN, is_working_day

logger = logging.getLogger("reports.alerts")

DESCRIPTION_PREVIEW = 200
DAILY_DIGEST_TIME = dt.time(7, 30)

# --- Preferences


def alert_preference_of(user: User) -> AlertPreference:
    """The staff member's preference, the default one (not stored) when they never chose."""
    preference = AlertPreference.objects.filter(user=user).first()
    return preference or AlertPreference(user=user)


def alert_preference_update(*, user: User, frequency: str, language: str) -> AlertPreference:
    """Stores the staff member's own choice. A new frequency starts its digests now: reports already
    mailed one by one (or deliberately not mailed) do not come again in the first digest."""
    preference, _created = AlertPreference.objects.get_or_create(user=user)
    if preference.frequency != frequency:
        preference.digest_since = timezone.now()
    preference.frequency = AlertFrequency(frequency)
    preference.language = language
    preference.save()
    return preference


def _frequencies(users: Sequence[User]) -> dict[int, AlertPreference]:
    stored = {p.user_id: p for p in AlertPreference.objects.filter(user__in=users)}
    return {user.pk: stored.get(user.pk) or AlertPreference(user=user) for user in users}


# --- An alert per new report


def report_intake_alert_queue(*, report: Report) -> int:
    """Records the alerts about ``report`` for its current department (members who want every report,
    and the department's shared inbox) and sends them after commit. Call it inside the transaction that
    files the report or moves it to another department; an address that already got this report is not
    mailed again. The report's ``arrived_at`` becomes now: the department's digests list it from here.
    Returns the number of alerts recorded."""
    report.arrived_at = timezone.now()
    Report.objects.filter(pk=report.pk).update(arrived_at=report.arrived_at)
    department = Department.objects.filter(categories=report.category_id).first()
    if department is None:
        return 0
    members = list(alert_recipients(department_id=department.pk))
    preferences = _frequencies(members)
    wanted: dict[str, tuple[User | None, str]] = {}
    for member in members:
        preference = preferences[member.pk]
        if preference.frequency == AlertFrequency.IMMEDIATE:
            wanted.setdefault(member.email.lower(), (member, preference.language))
    if department.shared_inbox:
        wanted.setdefault(department.shared_inbox.lower(), (None, "de"))
    known = set(IntakeAlert.objects.filter(report=report).values_list("email", flat=True))
    alerts = [
        IntakeAlert(report=report, recipient=user, email=email, language=language)
        for email, (user, language) in wanted.items()
        if email not in known
    ]
    from reports.tasks import send_intake_alerts

    return INTAKE_ALERTS.queue(alerts, task=send_intake_alerts, key=report.pk)


def _intake_message(alert: IntakeAlert) -> EmailMessage:
    report = alert.report
    department = report.category.department
    with translation.override(alert.language):
        subject = _("New report #%(number)s: %(category)s") % {
            "number": report.pk,
            "category": _category_name(report, alert.language),
        }
        lines = [
            _("A new report has come in for %(department)s.") % {"department": department},
            "",
            *_report_lines(report, alert.language),
            "",
        ]
        if alert.recipient_id is None:
            lines.append(
                _("This address is the shared inbox of %(department)s; Administration manages it.")
                % {"department": department}
            )
        else:
            lines.append(
                _("You get this e-mail because you chose it under “My notifications”: %(link)s")
                % {"link": workspace_link(reverse("admin:reports_alertpreference_changelist"))}
            )
        return EmailMessage(subject=subject, body="\n".join(lines), to=[alert.email])


INTAKE_ALERTS = Outbox(
    IntakeAlert,
    step="report_id",
    message=_intake_message,
    what="intake alert",
    logger=logger,
    related=("report__category__department",),
)


def intake_alerts_send(*, report_id: int) -> int:
    """Sends the unsent alerts of a report, each at most once (``casapp.outbox``). Raises
    ``MailDeliveryFailed`` when the mail server refused one (after trying all)."""
    return INTAKE_ALERTS.send(report_id)


def intake_alerts_resend_pending(*, now: dt.datetime | None = None) -> int:
    """The sweep: resends alerts left unsent (mail server down longer than the task's retries, a task
    lost with its broker). Returns the number sent now."""
    return INTAKE_ALERTS.resend_pending(now=now)


# --- Digests


def digest_slot(*, frequency: str, now: dt.datetime) -> dt.datetime | None:
    """The end of the digest window due at ``now``: the full hour for the hourly digest; 7:30 Berlin
    time of today for the daily one, if today is a working day (Monday to Friday, no NRW public holiday)
    and it is 7:30 or later; None when no daily digest is due today."""
    if frequency == AlertFrequency.HOURLY:
        return now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if frequency == AlertFrequency.DAILY:
        local = now.astimezone(BERLIN)
        slot = dt.datetime.combine(local.date(), DAILY_DIGEST_TIME, tzinfo=BERLIN)
        if is_working_day(local.date()) and local >= slot:
            return slot.astimezone(dt.UTC)
    return None


DIGEST_PERIOD = {AlertFrequency.HOURLY: dt.timedelta(hours=1), AlertFrequency.DAILY: dt.timedelta(days=1)}


def digests_queue(*, frequency: str, now: dt.datetime | None = None) -> int:
    """Records the digests due at ``now`` for every Triage member who chose ``frequency`` (daily is the
    default) and queues them; a window already recorded is queued again only while it is unsent. Each
    window starts where the member's previous digest ended: no report twice, none left out."""
    now = now or timezone.now()
    slot = digest_slot(frequency=frequency, now=now)
    if slot is None:
        return 0
    members = list(_department_members())
    preferences = _frequencies(members)
    queued: list[int] = []
    for member in members:
        preference = preferences[member.pk]
        if preference.frequency != frequency:
            continue
        previous = AlertDigest.objects.filter(recipient=member).order_by("-window_end").first()
        if previous is not None and previous.window_end >= slot:
            if previous.sent_at is None and previous.window_end == slot:
                queued.append(previous.pk)  # its task was lost or gave up: try again
            continue
        start = previous.window_end if previous else slot - DIGEST_PERIOD[AlertFrequency(frequency)]
        if preference.pk is not None:
            start = max(start, preference.digest_since)
        if start >= slot:
            continue
        digest, _created = AlertDigest.objects.get_or_create(
            recipient=member,
            window_end=slot,
            defaults={"frequency": frequency, "window_start": start},
        )
        queued.append(digest.pk)
    from reports.tasks import send_alert_digest

    for digest_id in queued:
        outbox_send_after_commit(send_alert_digest, digest_id)
    return len(queued)


def alert_digest_send(*, digest_id: int, now: dt.datetime | None = None) -> bool:
    """Sends one digest, once: the reports that came into the member's departments within its window
    (filed or re-routed there, ``Report.arrived_at``),
    and (daily) their departments' overdue reports. An empty digest is recorded, not mailed. Returns
    whether an e-mail went out; raises ``MailDeliveryFailed`` when the mail server refused it."""
    return outbox_send_one(
        AlertDigest.objects.select_related("recipient"),
        digest_id,
        message=partial(_digest_contents, now=now or timezone.now()),
        what="digest",
        logger=logger,
        also_saved=["report_count", "overdue_count"],
    )


def _digest_contents(digest: AlertDigest, *, now: dt.datetime) -> EmailMessage | None:
    """Counts the digest's reports onto it and writes its e-mail; None when there is nothing to mail."""
    member = digest.recipient
    ours = reports_of_member(member).select_related("category__department")
    new = list(
        ours.filter(arrived_at__gt=digest.window_start, arrived_at__lte=digest.window_end).order_by(
            "arrived_at", "pk"
        )
    )
    overdue: list[Report] = []
    if digest.frequency == AlertFrequency.DAILY:
        overdue = list(reports_overdue(ours, now=now).order_by("first_response_due_at", "pk"))
    digest.report_count, digest.overdue_count = len(new), len(overdue)
    if not (new or overdue) or not member.is_active or not member.email:
        return None
    language = alert_preference_of(member).language
    return _digest_message(digest, member, new, overdue, language)


def _digest_message(
    digest: AlertDigest, member: User, new: list[Report], overdue: list[Report], language: str
) -> EmailMessage:
    with translation.override(language):
        if digest.frequency == AlertFrequency.DAILY:
            subject = _("Mängelmelder daily digest: %(new)d new, %(overdue)d overdue") % {
                "new": len(new),
                "overdue": len(overdue),
            }
        else:
            subject = _("Mängelmelder hourly digest: %(new)d new reports") % {"new": len(new)}
        lines = [
            _("New reports of your departments from %(start)s to %(end)s: %(count)d")
            % {
                "start": berlin_time(digest.window_start),
                "end": berlin_time(digest.window_end),
                "count": len(new),
            },
            "",
        ]
        for report in new:
            lines += [*_report_lines(report, language), ""]
        if overdue:
            lines += [
                _("Overdue (no first response by its due date): %(count)d") % {"count": len(overdue)},
                "",
            ]
            for report in overdue:
                assert report.first_response_due_at is not None  # noqa: S101 (overdue: it has a due time)
                lines.append(
                    _("#%(number)s %(category)s, due %(due)s: %(link)s")
                    % {
                        "number": report.pk,
                        "category": _category_name(report, language),
                        "due": berlin_time(report.first_response_due_at),
                        "link": _report_link(report),
                    }
                )
            lines.append("")
        lines.append(
            _("You get this digest because you chose it under “My notifications”: %(link)s")
            % {"link": workspace_link(reverse("admin:reports_alertpreference_changelist"))}
        )
        return EmailMessage(subject=subject, body="\n".join(lines), to=[member.email])


# --- Shared pieces


def _department_members() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True, is_staff=True, groups__name="Triage")
        .filter(report_departments__isnull=False)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def _report_lines(report: Report, language: str) -> list[str]:
    """Number, category, place, the start of the description, the link. Never contact data or photos."""
    description = text_preview(report.description, DESCRIPTION_PREVIEW)
    place = report.address or f"{report.latitude:.4f}, {report.longitude:.4f}"  # ~10 m
    if report.stadtteil:
        place = f"{place} ({report.stadtteil})"
    lines = [
        _("Report #%(number)s, %(received)s")
        % {"number": report.pk, "received": berlin_time(report.created_at)},
        _("Category: %(category)s") % {"category": _category_name(report, language)},
        _("Place: %(place)s") % {"place": place},
    ]
    if description:
        lines.append(_("Description: %(description)s") % {"description": description})
    lines.append(_("Open in the workspace: %(link)s") % {"link": _report_link(report)})
    return lines


def _category_name(report: Report, language: str) -> str:
    category = report.category
    return (category.name_en if language == "en" else "") or category.name_de


def _report_link(report: Report) -> str:
    return workspace_link(reverse("admin:reports_report_change", args=[report.pk]))

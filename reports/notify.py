"""What the reporter's phone is told when their report changes (through the push module)."""

from __future__ import annotations

from uuid import UUID

from django.utils import translation
from django.utils.translation import gettext as _

from casapp.errors import DomainError
from casapp.languages import content_languages
from push import services as push
from reports.models import Report, ReportEvent, ReportStatus, ReportSupport

CATEGORY = "report_update"

MESSAGE_PREVIEW = 120


def status_label(status: str) -> str:
    """A status in the active language, as the reporter's pushes and the app name it ("in Prüfung")."""
    return str(ReportStatus(status).label) if status in ReportStatus.values else status


def _status_content(report: Report, message: str) -> dict[str, dict[str, str]]:
    """Lock-screen texts in every language: the report number and its state, never the description or
    contact data."""
    content = {}
    # "Nicht zuständig" names who is: the reporter learns where to turn without opening the app.
    forwarded = report.status == ReportStatus.NOT_RESPONSIBLE and report.forwarded_to
    for language in content_languages():
        with translation.override(language):
            said = message
            if forwarded:
                responsible = _("Responsible: %(authority)s.") % {"authority": report.forwarded_to}
                said = f"{responsible} {message}"
            body = _("New status: %(status)s. %(message)s") % {
                "status": status_label(report.status),
                "message": said.strip(),
            }
            content[language] = {"title": _("Your report #%(id)s") % {"id": report.pk}, "body": body.strip()}
    return content


def report_status_notify(*, report_id: int, event_id: int | None = None) -> None:
    """Pushes the report's state, and the message of the event that changed it, to its reporter and
    to everyone who supported it ("me too")."""
    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        return
    event = ReportEvent.objects.filter(pk=event_id, report=report).first() if event_id else None
    message = (event.public_message if event else "")[:MESSAGE_PREVIEW]
    content = _status_content(report, message)
    recipients: list[UUID] = list(
        ReportSupport.objects.filter(report=report).values_list("installation_id", flat=True)
    )
    if report.installation_id:
        recipients.insert(0, report.installation_id)
    if not recipients:
        return
    try:
        _send(report, recipients, content)
    except DomainError:
        # Staff wrote something that must not appear on a lock screen: push the state without it.
        for text in content.values():
            text["body"] = text["body"].split(".")[0] + "."
        _send(report, recipients, content)


def _send(report: Report, recipients: list[UUID], content: dict[str, dict[str, str]]) -> None:
    push.notify_installations(
        installations=recipients,
        content=content,
        category=CATEGORY,
        deep_link=f"casapp://reports/{report.pk}",
        data={"report_id": str(report.pk), "status": report.status},
    )

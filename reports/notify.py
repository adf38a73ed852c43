"""What the reporter's phone is told when their report changes (through the push module)."""

from __future__ import annotations

from uuid import UUID

from casapp.errors import DomainError
from push import services as push
from reports.models import Report, ReportEvent, ReportStatus, ReportSupport

CATEGORY = "report_update"

# Lock-screen texts: the report number and its state, never the description or contact data.
TEXTS = {
    "de": ("Ihre Meldung #{id}", "Neuer Stand: {status}. {message}"),
    "en": ("Your report #{id}", "New status: {status}. {message}"),
}
STATUS_EN = {
    "eingegangen": "received",
    "in_pruefung": "in review",
    "in_bearbeitung": "in progress",
    "erledigt": "done",
    "abgelehnt": "rejected",
    "duplikat": "duplicate",
    "nicht_zustaendig": "not responsible",
    "zurueckgezogen": "withdrawn",
}
STATUS_DE = {
    "eingegangen": "eingegangen",
    "in_pruefung": "in Prüfung",
    "in_bearbeitung": "in Bearbeitung",
    "erledigt": "erledigt",
    "abgelehnt": "abgelehnt",
    "duplikat": "Duplikat",
    "nicht_zustaendig": "nicht zuständig",
    "zurueckgezogen": "zurückgezogen",
}
MESSAGE_PREVIEW = 120
# "Nicht zuständig" names who is: the reporter learns where to turn without opening the app.
FORWARDED = {"de": "Zuständig ist: {authority}.", "en": "Responsible: {authority}."}


def report_status_notify(*, report_id: int, event_id: int | None = None) -> None:
    """Pushes the report's state, and the message of the event that changed it, to its reporter and
    to everyone who supported it ("me too")."""
    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        return
    event = ReportEvent.objects.filter(pk=event_id, report=report).first() if event_id else None
    message = (event.public_message if event else "")[:MESSAGE_PREVIEW]
    content: dict[str, dict[str, str]] = {}
    forwarded = report.status == ReportStatus.NOT_RESPONSIBLE and report.forwarded_to
    for language, (title, body) in TEXTS.items():
        status = (STATUS_DE if language == "de" else STATUS_EN)[report.status]
        said = message
        if forwarded:
            said = f"{FORWARDED[language].format(authority=report.forwarded_to)} {message}"
        content[language] = {
            "title": title.format(id=report.pk),
            "body": body.format(status=status, message=said.strip()).strip(),
        }
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

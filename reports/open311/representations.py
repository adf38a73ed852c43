"""Our categories and reports in the GeoReport v2 vocabulary. Public fields only: no contact data, no
installation, no partner, no internal notes, no answers (free text a moderator cannot redact)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from reports.answers import MAX_TEXT_ANSWER
from reports.api.serializers import localized, localized_choice, status_label
from reports.models import (
    OPEN_STATUSES,
    Category,
    CategoryQuestion,
    QuestionKind,
    Report,
    ReportEvent,
    ReportStatus,
)
from reports.public_photos import photo_image_path
from reports.selectors import CITY_TIME_ZONE

# A question's kind as an Open311 attribute datatype. Our text answers are short (MAX_TEXT_ANSWER), the
# spec's "string"; its "text" is for long text, which no question asks for.
DATATYPES = {
    QuestionKind.TEXT: "string",
    QuestionKind.NUMBER: "number",
    QuestionKind.SINGLE_CHOICE: "singlevaluelist",
    QuestionKind.MULTIPLE_CHOICE: "multivaluelist",
}

# A German postcode in the address the reporter typed ("Marktplatz 1, 44575 Castrop-Rauxel").
ZIPCODE = re.compile(r"\b(\d{5})\b")


def open311_datetime(value: datetime | None) -> str | None:
    """ISO 8601 with the offset, in the city's time zone (stored in UTC)."""
    return value.astimezone(CITY_TIME_ZONE).isoformat(timespec="seconds") if value else None


def service(category: Category) -> dict[str, Any]:
    group = category.parent
    return {
        "service_code": category.key,
        "service_name": localized(category, "name"),
        "description": localized(category, "description") or None,
        "metadata": bool(category.questions.all()),
        "type": "realtime",
        "keywords": ",".join(key for key in (category.key, group.key if group else "") if key),
        "group": localized(group, "name") if group else None,
    }


def service_definition(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.key,
        "attributes": [
            attribute(question, order=index)
            for index, question in enumerate(category.questions.all(), start=1)
        ],
    }


def attribute(question: CategoryQuestion, *, order: int) -> dict[str, Any]:
    kind = QuestionKind(question.kind)
    descriptions = {
        QuestionKind.TEXT: _("Text, at most %(max)d characters.") % {"max": MAX_TEXT_ANSWER},
        QuestionKind.NUMBER: _("A number."),
        QuestionKind.SINGLE_CHOICE: _("The key of one of the values."),
        QuestionKind.MULTIPLE_CHOICE: _("The keys of one or more of the values, each as attribute[code][]."),
    }
    return {
        "variable": True,
        "code": question.key,
        "datatype": DATATYPES[kind],
        "required": question.required,
        "datatype_description": str(descriptions[kind]),
        "order": order,
        "description": localized(question, "label"),
        "values": [
            {
                "key": choice.get("key", ""),
                "name": localized_choice(choice),
            }
            for choice in question.choices
        ]
        if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
        else [],
    }


def service_request(
    report: Report,
    *,
    request: Request,
    extensions: bool = False,
    own_history: list[ReportEvent] | None = None,
) -> dict[str, Any]:
    """``own_history``: for a request the asking partner filed, the history it may see
    (``selectors.partner_notes``); its extended attributes then also say whether the report is hidden."""
    events: list[ReportEvent] = getattr(report, "public_events", [])
    notes = [event.public_message for event in events if event.public_message]
    department = report.category.department
    zipcode = ZIPCODE.search(report.address)
    representation: dict[str, Any] = {
        "service_request_id": str(report.pk),
        "status": "open" if report.status in OPEN_STATUSES else "closed",
        "status_notes": notes[-1] if notes else None,
        "service_name": localized(report.category, "name"),
        "service_code": report.category.key,
        "description": report.description or None,
        "agency_responsible": department.name if department else None,
        "service_notice": None,
        "requested_datetime": open311_datetime(report.created_at),
        "updated_datetime": open311_datetime(report.updated_at),
        # The city commits to no dates for a repair.
        "expected_datetime": None,
        "address": report.address or None,
        "address_id": None,
        "zipcode": zipcode.group(1) if zipcode else None,
        "lat": report.latitude,
        "long": report.longitude,
        "media_url": _media_url(report, request=request),
    }
    if extensions:
        representation["extended_attributes"] = {
            "status": report.status,
            "status_label": status_label(report.status),
            "stadtteil": report.stadtteil or None,
            "support_count": report.support_count,
            "duplicate_of": str(report.duplicate_of_id) if report.duplicate_of_id else None,
            "notes": [_note(event) for event in events]
            if own_history is None
            else [_note(event, own=True) for event in own_history],
        }
        if own_history is not None:
            representation["extended_attributes"]["non_public"] = report.hidden
    return representation


def _note(event: ReportEvent, *, own: bool = False) -> dict[str, Any]:
    # What the partner passed on itself (a comment, or the words of its "still broken") shows it the
    # words it sent; any other entry only its public message.
    passed_on = own and getattr(event, "open311_update", None) is not None
    text = event.internal_note if passed_on else event.public_message
    return {
        "datetime": open311_datetime(event.created_at),
        "type": event.kind,
        "status": event.to_status or None,
        "status_label": status_label(event.to_status) if event.to_status else None,
        "description": text or None,
    }


# Our statuses as the extended statuses FixMyStreet and open311-adapter know (docs/open311.md). Neither
# action_scheduled nor internal_referral has a status of ours: the city commits to no dates, and a report
# forwarded inside the city keeps its status.
UPDATE_STATUSES = {
    ReportStatus.RECEIVED: "open",
    ReportStatus.IN_REVIEW: "investigating",
    ReportStatus.IN_PROGRESS: "in_progress",
    ReportStatus.DONE: "fixed",
    ReportStatus.REJECTED: "no_further_action",
    ReportStatus.DUPLICATE: "duplicate",
    ReportStatus.NOT_RESPONSIBLE: "not_councils_responsibility",
    ReportStatus.WITHDRAWN: "closed",
}


def request_update(event: ReportEvent, *, partner_id: int | None) -> dict[str, Any]:
    """One ``request_update`` of the feed, in the fields open311-adapter writes: ``description`` and
    ``media_url`` are strings (empty when there is none), the status is the report's right after the
    event. ``fixmystreet_id`` (the sender's own id, which FixMyStreet finds its report by) only for the
    partner that filed the request."""
    status = getattr(event, "status_then", None) or event.report.status
    update: dict[str, Any] = {
        "update_id": str(event.pk),
        "service_request_id": str(event.report_id),
        "status": UPDATE_STATUSES[ReportStatus(status)],
        "description": event.public_message,
        "updated_datetime": open311_datetime(event.created_at),
        # Our updates carry no photos; the element is part of the format.
        "media_url": "",
        "external_status_code": status,
    }
    submission = getattr(event.report, "open311_submission", None)
    if submission is not None and partner_id is not None and submission.api_key_id == partner_id:
        sender_id = submission.sender_metadata.get("fixmystreet_id")
        if isinstance(sender_id, str) and sender_id.isdigit():
            update["fixmystreet_id"] = sender_id
    return update


def _media_url(report: Report, *, request: Request) -> str | None:
    photos = getattr(report, "visible_photos", None)
    if photos:
        # Our stable URL (reports.public_photos), not the storage's: a partner may keep it.
        return request.build_absolute_uri(photo_image_path(photos[0]))
    return report.media_url or None

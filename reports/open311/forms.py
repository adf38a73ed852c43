"""The parameters of the Open311 requests, validated. Rules about reports stay in ``reports.services``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from reports.answers import text_storable
from reports.api.serializers import PHONE_PATTERN, BoundingBoxField
from reports.models import MAX_DESCRIPTION, CategoryQuestion, QuestionKind
from reports.open311.selectors import (
    DEFAULT_WINDOW,
    MAX_RESULTS,
    OPEN311_STATUSES,
    UPDATES_DEFAULT_WINDOW,
    UPDATES_MAX_WINDOW,
    Circle,
)
from reports.services import MAX_PHOTOS

MAX_IDS = MAX_RESULTS
MAX_RADIUS_M = 10_000
DEFAULT_RADIUS_M = 500
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,60})\](\[\])?$")
# The sender's own attributes (not in the service definition) kept as its metadata: bounded, so a
# partner cannot store a document of its own with each report.
MAX_SENDER_ATTRIBUTES = 30
MAX_SENDER_VALUE = 500
# Attributes by which common senders name their own id of the report (FixMyStreet: fixmystreet_id).
SENDER_REFERENCE_KEYS = ("fixmystreet_id", "external_id", "report_id")
MAX_SENDER_REFERENCE = 100


class ServiceRequestForm(serializers.Serializer[Any]):
    """``POST requests``: what ``reports.open311.services.service_request_create`` needs, by Open311 name.

    ``lat``/``long`` stay strings: the report service validates them like the app's."""

    jurisdiction_id = serializers.CharField(required=False)
    service_code = serializers.CharField(max_length=60)
    lat = serializers.CharField(max_length=40, required=False, default=None)
    long = serializers.CharField(max_length=40, required=False, default=None)
    address_string = serializers.CharField(max_length=200, required=False, default="")
    email = serializers.EmailField(max_length=254, required=False, default="")
    first_name = serializers.CharField(max_length=50, required=False, default="")
    last_name = serializers.CharField(max_length=50, required=False, default="")
    phone = serializers.RegexField(
        PHONE_PATTERN,
        max_length=40,
        required=False,
        default="",
        error_messages={"invalid": _("Enter a phone number.")},
    )
    # GeoReport v2 allows 4,000 characters; the app's own form keeps 2,000.
    description = serializers.CharField(max_length=MAX_DESCRIPTION, required=False, default="")
    # Links for people to follow, all of them up to the photo limit; fetched only from hosts the operator
    # listed (reports.open311.media), by a worker.
    media_url = serializers.ListField(
        child=serializers.URLField(max_length=500), max_length=MAX_PHOTOS, required=False, default=list
    )

    def validate_media_url(self, links: list[str]) -> list[str]:
        if any(not link.lower().startswith(("https://", "http://")) for link in links):
            raise serializers.ValidationError(_("Enter an http or https URL."))
        return links


# The names partner platforms give photo file parts: GeoReport v2.1's draft ``media`` (repeated, or as
# ``media[]``), numbered forms (``media_1``, ``media[1]``, ``media1``) and ``photo``/``photo1``… as
# FixMyStreet's sender uploads photos of private reports to open311-adapter.
MEDIA_PART = re.compile(r"^(?:media|photo|photos)(?:\[(\d{0,2})\]|_?(\d{1,2}))?$")


def media_files(files: MultiValueDict[str, UploadedFile]) -> list[tuple[str, UploadedFile]]:
    """The photos sent as file parts with their part names, ordered by the number in the name (then as
    sent: a sender's parts may come in any order); a file part of any other name is refused, as it would
    otherwise be dropped unnoticed."""
    numbered: list[tuple[int, int, str, UploadedFile]] = []
    for name in files:
        match = MEDIA_PART.match(name)
        if match is None:
            raise serializers.ValidationError(
                {
                    name[:60]: _(
                        "Unknown file part; send photos as media (repeated, media[] or media_1 … media_5)."
                    )
                }
            )
        number = int(match.group(1) or match.group(2) or 0)
        numbered.extend((number, len(numbered), name, upload) for upload in files.getlist(name))
    return [(name, upload) for _number, _order, name, upload in sorted(numbered, key=lambda part: part[:2])]


def media_urls(data: QueryDict | Any) -> list[str]:
    """Every ``media_url`` given (a repeated parameter), empty ones left out."""
    given = data.getlist("media_url") if hasattr(data, "getlist") else [data.get("media_url")]
    return [link for link in given if isinstance(link, str) and link != ""]


@dataclass(frozen=True)
class Attributes:
    """The ``attribute[...]`` parameters: answers to the category's questions, and the sender's own."""

    answers: dict[str, Any]
    sender_metadata: dict[str, str | list[str]]

    @property
    def sender_reference(self) -> str:
        for key in SENDER_REFERENCE_KEYS:
            value = self.sender_metadata.get(key)
            if isinstance(value, str):
                return value[:MAX_SENDER_REFERENCE]
        return ""


def attributes(data: QueryDict | Any, questions: list[CategoryQuestion]) -> Attributes:
    """``attribute[code]`` for a question of the category goes to the answers (checked as the app's);
    any other code is the sender's metadata, at most ``MAX_SENDER_ATTRIBUTES`` of at most
    ``MAX_SENDER_VALUE`` characters each, else a ``ValidationError`` naming the attribute."""
    keys = {question.key for question in questions}
    given = _attribute_values(data)
    own = {code: values for code, values in given.items() if code not in keys}
    if len(own) > MAX_SENDER_ATTRIBUTES:
        raise serializers.ValidationError(
            {
                "attribute": _("At most %(count)d attributes beyond the service definition.")
                % {"count": MAX_SENDER_ATTRIBUTES}
            }
        )
    metadata: dict[str, str | list[str]] = {}
    for code, values in own.items():
        if any(len(value) > MAX_SENDER_VALUE or not text_storable(value) for value in values):
            raise serializers.ValidationError(
                {f"attribute[{code}]": _("At most %(count)d characters.") % {"count": MAX_SENDER_VALUE}}
            )
        metadata[code] = values[0] if len(values) == 1 else values
    answers = {code: value for code, value in attribute_answers(data, questions).items() if code in keys}
    return Attributes(answers=answers, sender_metadata=metadata)


def _attribute_values(data: QueryDict | Any) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name in data:
        match = ATTRIBUTE.match(name)
        if match is None:
            continue
        given = [value for value in data.getlist(name) if value != ""] if hasattr(data, "getlist") else []
        if given:  # an empty parameter is an absent one
            values.setdefault(match.group(1), []).extend(given)
    return values


def attribute_answers(data: QueryDict | Any, questions: list[CategoryQuestion]) -> dict[str, Any]:
    """``attribute[code]=v`` and ``attribute[code][]=v`` (repeated for a multivaluelist) as the answers
    ``reports.answers.validate_answers`` checks: a list for multiple-choice questions, one value otherwise
    (several for another kind stay a list, which that check refuses)."""
    kinds = {question.key: question.kind for question in questions}
    answers: dict[str, Any] = {}
    for code, given in _attribute_values(data).items():
        if kinds.get(code) == QuestionKind.MULTIPLE_CHOICE or len(given) > 1:
            answers[code] = given
        else:
            answers[code] = given[0]
    return answers


class CommaListField(serializers.CharField):
    def to_internal_value(self, data: Any) -> list[str]:  # type: ignore[override]
        text = super().to_internal_value(data)
        return [part.strip() for part in text.split(",") if part.strip()]


class ServiceRequestLookup(serializers.Serializer[Any]):
    """``GET requests/{id}``: the parameters every request read takes."""

    jurisdiction_id = serializers.CharField(required=False)
    extensions = serializers.BooleanField(required=False, default=False)


class ServiceRequestQuery(ServiceRequestLookup):
    """``GET requests``: the spec's filters and the documented extensions."""

    service_request_id = CommaListField(max_length=20_000, required=False)
    service_code = CommaListField(max_length=2_000, required=False)
    start_date = serializers.DateTimeField(required=False)
    end_date = serializers.DateTimeField(required=False)
    status = CommaListField(max_length=40, required=False)
    updated_after = serializers.DateTimeField(required=False)
    updated_before = serializers.DateTimeField(required=False)
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
    long = serializers.FloatField(min_value=-180, max_value=180, required=False)
    radius = serializers.FloatField(min_value=1, max_value=MAX_RADIUS_M, required=False)
    bbox = BoundingBoxField(required=False)
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
    page_size = serializers.IntegerField(
        min_value=1, max_value=MAX_RESULTS, required=False, default=MAX_RESULTS
    )

    def validate_service_request_id(self, ids: list[str]) -> list[int]:
        if len(ids) > MAX_IDS:
            raise serializers.ValidationError(_("At most %(count)d ids at once.") % {"count": MAX_IDS})
        if not all(part.isdigit() and len(part) <= 15 for part in ids):
            raise serializers.ValidationError(_("Give service request ids (numbers), separated by commas."))
        return [int(part) for part in ids]

    def validate_status(self, statuses: list[str]) -> list[str]:
        unknown = [status for status in statuses if status not in OPEN311_STATUSES]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown status %(status)s; use open or closed.") % {"status": unknown[0][:20]}
            )
        return [ours for status in statuses for ours in OPEN311_STATUSES[status]]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end:
            if start > end:
                raise serializers.ValidationError({"end_date": _("end_date must not be before start_date.")})
            if end - start > DEFAULT_WINDOW + timedelta(seconds=1):
                raise serializers.ValidationError(
                    {"end_date": _("start_date and end_date may span at most %(days)d days.") % {"days": 90}}
                )
        after, before = attrs.get("updated_after"), attrs.get("updated_before")
        if after and before and after > before:
            raise serializers.ValidationError(
                {"updated_before": _("updated_before must not be before updated_after.")}
            )
        has_lat, has_long = "lat" in attrs, "long" in attrs
        if has_lat != has_long:
            raise serializers.ValidationError({"lat": _("Give lat and long together.")})
        if "radius" in attrs and not has_lat:
            raise serializers.ValidationError({"radius": _("radius needs lat and long.")})
        if has_lat:
            attrs["circle"] = Circle(
                latitude=attrs["lat"], longitude=attrs["long"], radius_m=attrs.get("radius", DEFAULT_RADIUS_M)
            )
        return attrs


class UpdatesQuery(serializers.Serializer[Any]):
    """``GET servicerequestupdates``: the period (``start_date``, ``end_date``) and our page extension.

    Without ``end_date`` the period ends now; without ``start_date`` it starts
    ``UPDATES_DEFAULT_WINDOW`` before its end; it spans at most ``UPDATES_MAX_WINDOW``."""

    jurisdiction_id = serializers.CharField(required=False)
    start_date = serializers.DateTimeField(required=False)
    end_date = serializers.DateTimeField(required=False)
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=1)
    page_size = serializers.IntegerField(
        min_value=1, max_value=MAX_RESULTS, required=False, default=MAX_RESULTS
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end_date") or timezone.now()
        start = attrs.get("start_date") or end - UPDATES_DEFAULT_WINDOW
        if start > end:
            raise serializers.ValidationError({"end_date": _("end_date must not be before start_date.")})
        if end - start > UPDATES_MAX_WINDOW:
            raise serializers.ValidationError(
                {
                    "end_date": _("start_date and end_date may span at most %(days)d days.")
                    % {"days": UPDATES_MAX_WINDOW.days}
                }
            )
        attrs["start_date"], attrs["end_date"] = start, end
        return attrs


# The statuses a sender posts with an update (FixMyStreet: its report's state, upper case; with
# extended statuses one of these). OPEN and REOPEN say the citizen finds the defect still there.
UPDATE_STATUSES_STILL_BROKEN = ("OPEN", "REOPEN")
UPDATE_STATUSES = (
    *UPDATE_STATUSES_STILL_BROKEN,
    "CLOSED",
    "FIXED",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "INVESTIGATING",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "INTERNAL_REFERRAL",
    "FOR_TRIAGE",
)
TRUE_FALSE = ("TRUE", "FALSE")


class ServiceRequestUpdateForm(serializers.Serializer[Any]):
    """``POST servicerequestupdates``: the fields FixMyStreet and open311-adapter send. Contact data is
    checked like a request's but not stored: the comment is about the report, whose reporter the partner
    already named."""

    jurisdiction_id = serializers.CharField(required=False)
    service_request_id = serializers.RegexField(
        r"^[0-9]{1,15}$", error_messages={"invalid": _("Give the service request id (a number).")}
    )
    update_id = serializers.CharField(max_length=100, required=False, default="")
    status = serializers.CharField(max_length=40)
    updated_datetime = serializers.DateTimeField(required=False, default=None)
    description = serializers.CharField(max_length=MAX_DESCRIPTION)
    email = serializers.EmailField(max_length=254, required=False, default="")
    first_name = serializers.CharField(max_length=50, required=False, default="")
    last_name = serializers.CharField(max_length=50, required=False, default="")
    title = serializers.CharField(max_length=50, required=False, default="")
    phone = serializers.RegexField(
        PHONE_PATTERN,
        max_length=40,
        required=False,
        default="",
        error_messages={"invalid": _("Enter a phone number.")},
    )
    media_url = serializers.ListField(
        child=serializers.URLField(max_length=500), max_length=MAX_PHOTOS, required=False, default=list
    )
    account_id = serializers.CharField(max_length=100, required=False)
    service_request_id_ext = serializers.CharField(max_length=100, required=False)
    service_code = serializers.CharField(max_length=60, required=False)
    public_anonymity_required = serializers.CharField(max_length=5, required=False)
    email_alerts_requested = serializers.CharField(max_length=5, required=False)

    def validate_status(self, status: str) -> str:
        if status.upper() not in UPDATE_STATUSES:
            raise serializers.ValidationError(
                _("Unknown status %(status)s; use one of %(statuses)s.")
                % {"status": status[:40], "statuses": ", ".join(UPDATE_STATUSES)}
            )
        return status.upper()

    def validate_description(self, text: str) -> str:
        if not text_storable(text):
            raise serializers.ValidationError(_("The text holds characters that cannot be stored."))
        return text

    def validate_media_url(self, links: list[str]) -> list[str]:
        return ServiceRequestForm().validate_media_url(links)

    def validate_public_anonymity_required(self, value: str) -> str:
        return _true_false(value)

    def validate_email_alerts_requested(self, value: str) -> str:
        return _true_false(value)


def _true_false(value: str) -> str:
    if value.upper() not in TRUE_FALSE:
        raise serializers.ValidationError(_("Use TRUE or FALSE."))
    return value.upper()

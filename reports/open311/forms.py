"""The parameters of the Open311 requests, validated. Rules about reports stay in ``reports.services``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from reports.api.serializers import PHONE_PATTERN, BoundingBoxField
from reports.models import CategoryQuestion, QuestionKind
from reports.open311.selectors import DEFAULT_WINDOW, MAX_RESULTS, OPEN311_STATUSES, Circle

MAX_IDS = MAX_RESULTS
MAX_RADIUS_M = 10_000
DEFAULT_RADIUS_M = 500
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,60})\](\[\])?$")


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
    description = serializers.CharField(max_length=2000, required=False, default="")
    # Kept as a link for people to follow; the server never fetches it.
    media_url = serializers.URLField(max_length=500, required=False, default="")

    def validate_media_url(self, value: str) -> str:
        if value and not value.lower().startswith(("https://", "http://")):
            raise serializers.ValidationError(_("Enter an http or https URL."))
        return value


def attribute_answers(data: QueryDict | Any, questions: list[CategoryQuestion]) -> dict[str, Any]:
    """``attribute[code]=v`` and ``attribute[code][]=v`` (repeated for a multivaluelist) as the answers
    ``reports.answers.validate_answers`` checks: a list for multiple-choice questions, one value otherwise
    (several for another kind stay a list, which that check refuses)."""
    values: dict[str, list[str]] = {}
    for name in data:
        match = ATTRIBUTE.match(name)
        if match is None:
            continue
        given = [value for value in data.getlist(name) if value != ""] if hasattr(data, "getlist") else []
        values.setdefault(match.group(1), []).extend(given)
    kinds = {question.key: question.kind for question in questions}
    answers: dict[str, Any] = {}
    for code, given in values.items():
        if not given:
            continue  # an empty parameter is an absent one
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

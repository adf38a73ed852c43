"""Shapes of the Mängelmelder's app and public API. The rules live in the services and selectors.

Three views of a report, from most to least private:
- ``ReporterReportSerializer``: what its reporter's installation sees, contact data and answers included;
- ``PublicReportSerializer``: open data; never contact data, the installation, internal notes, the
  assignee or the answers to the category's questions (free text a moderator cannot redact);
- ``PublicReportDetailSerializer``: the public one with its public timeline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from casapp.api.fields import BoundedJSONField, NullableEmailField
from casapp.city import STADTTEIL_CHOICES
from casapp.languages import field_in, supported_language
from reports import selectors
from reports.api.fields import report_status_field
from reports.models import Category, CategoryQuestion, Report, ReportEvent, ReportPhoto, ReportStatus
from reports.notify import status_label as _status_label
from reports.public_photos import photo_image_path, photo_path, photo_thumbnail_path
from reports.screen_figures import ScreenSummary
from reports.selectors import BoundingBox, NearbyReport
from reports.stats import ReportStats

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 ()/.-]{2,39}$"
# A map view of the whole city is about 0.13° wide; one degree is plenty and keeps a query bounded.
MAX_BBOX_SPAN_DEGREES = 1.0


def request_language() -> str:
    """The language LocaleMiddleware negotiated from Accept-Language: "de" (default), "en" or "tr"."""
    return supported_language(get_language())


def localized(instance: Any, field: str) -> str:
    """A text column of the catalogue (``name`` → ``name_tr``) in the request's language, else German."""
    return field_in(instance, field, request_language())


def localized_choice(choice: Mapping[str, Any]) -> str:
    """A question's choice (``{"key", "label_de", "label_en", "label_tr"}``) in the request's language."""
    return str(choice.get(f"label_{request_language()}") or choice.get("label_de", ""))


def status_label(status: str) -> str:
    # The reporter's pushes name the statuses in these words; the app shows the same ones.
    label = _status_label(status)
    return label[:1].upper() + label[1:]


# --- Categories


# A field named "label" shadows Field.label in the stubs only: DRF takes declared fields off the class.


class CategoryChoiceSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            "key": instance.get("key", ""),
            "label": localized_choice(instance),
        }


class CategoryQuestionSerializer(serializers.ModelSerializer[CategoryQuestion]):
    label = serializers.SerializerMethodField()  # type: ignore[assignment]
    # A plain string: other "kind" enums of the API have other choices.
    kind = serializers.CharField(help_text="text, number, single_choice or multiple_choice.")
    choices = CategoryChoiceSerializer(many=True, help_text="For single_choice and multiple_choice.")

    class Meta:
        model = CategoryQuestion
        fields = ["key", "label", "kind", "required", "choices"]
        read_only_fields = fields

    def get_label(self, question: CategoryQuestion) -> str:
        return localized(question, "label")


class CategoryLeafSerializer(serializers.ModelSerializer[Category]):
    label = serializers.SerializerMethodField()  # type: ignore[assignment]
    description = serializers.SerializerMethodField()
    icon = serializers.CharField(source="icon_key", help_text="Key of an icon of the app; may be empty.")
    questions = CategoryQuestionSerializer(many=True, help_text="Send the answers as `answers`.")

    class Meta:
        model = Category
        fields = ["key", "label", "description", "icon", "questions"]
        read_only_fields = fields

    def get_label(self, category: Category) -> str:
        return localized(category, "name")

    def get_description(self, category: Category) -> str:
        return localized(category, "description")


class CategoryGroupSerializer(CategoryLeafSerializer):
    categories = CategoryLeafSerializer(
        source="active_leaves", many=True, help_text="The categories a report is filed under."
    )

    class Meta(CategoryLeafSerializer.Meta):
        fields = ["key", "label", "description", "icon", "categories"]
        read_only_fields = fields


class CategoryTreeSerializer(serializers.Serializer[Any]):
    groups = CategoryGroupSerializer(many=True)


# --- Reports: output


class ReportPhotoSerializer(serializers.ModelSerializer[ReportPhoto]):
    image = serializers.SerializerMethodField(help_text="At most 2048 px on the long edge, JPEG.")
    thumbnail = serializers.SerializerMethodField(help_text="At most 400 px on the long edge, JPEG.")

    class Meta:
        model = ReportPhoto
        fields = ["image", "thumbnail", "width", "height"]
        read_only_fields = fields

    def get_image(self, photo: ReportPhoto) -> str:
        return self._absolute(photo_image_path(photo))

    def get_thumbnail(self, photo: ReportPhoto) -> str:
        return self._absolute(photo_thumbnail_path(photo))

    def _absolute(self, url: str) -> str:
        # Our own URL that does not expire, whatever storage holds the file (reports.public_photos).
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ReportTimelineEntrySerializer(serializers.ModelSerializer[ReportEvent]):
    at = serializers.DateTimeField(source="created_at")
    kind = serializers.CharField(
        help_text=(
            "created, status, reply (a public answer of the city) or rerouted (the city moved the report to "
            "another category and department; the message names the department). Unknown kinds may come: "
            "show their message."
        )
    )
    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    message = serializers.CharField(source="public_message", help_text="May be empty.")
    redacted = serializers.SerializerMethodField(
        help_text="The city replaced this message afterwards (moderation), e.g. to remove personal data."
    )

    class Meta:
        model = ReportEvent
        fields = ["at", "kind", "status", "status_label", "message", "redacted"]
        read_only_fields = fields

    @extend_schema_field(report_status_field(allow_null=True))
    def get_status(self, event: ReportEvent) -> str | None:
        """The status the report went to; None for a reply."""
        return event.to_status or None

    def get_status_label(self, event: ReportEvent) -> str | None:
        return status_label(event.to_status) if event.to_status else None

    def get_redacted(self, event: ReportEvent) -> bool:
        return event.redacted_at is not None


class PublicReportSerializer(serializers.ModelSerializer[Report]):
    category = serializers.CharField(source="category.key", help_text="Key of the leaf category.")
    category_label = serializers.SerializerMethodField()
    category_group = serializers.CharField(source="category.parent.key", help_text="Key of its group.")
    status = report_status_field()
    status_label = serializers.SerializerMethodField()
    stadtteil = serializers.CharField(help_text="Empty where the point lies in no imported Stadtteil.")
    photos = ReportPhotoSerializer(source="visible_photos", many=True)
    forwarded_to = serializers.SerializerMethodField(
        help_text="While `nicht_zustaendig`: the authority the city forwarded the report to; empty otherwise."
    )

    class Meta:
        model = Report
        fields = [
            "id",
            "category",
            "category_label",
            "category_group",
            "status",
            "status_label",
            "description",
            "address",
            "stadtteil",
            "latitude",
            "longitude",
            "support_count",
            "duplicate_of",
            "forwarded_to",
            "photos",
            "created_at",
            "updated_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_category_label(self, report: Report) -> str:
        return localized(report.category, "name")

    def get_status_label(self, report: Report) -> str:
        return status_label(report.status)

    def get_forwarded_to(self, report: Report) -> str:
        return public_forwarded_to(report.status, report.forwarded_to)


def public_forwarded_to(status: str, forwarded_to: str) -> str:
    # Kept for staff when the report comes back (to in_pruefung); only the current state is public.
    return forwarded_to if status == ReportStatus.NOT_RESPONSIBLE else ""


def _iso_datetime(value: datetime | None, zone: tzinfo) -> str | None:
    # As DRF's DateTimeField renders it (ISO 8601 in the current time zone, "Z" for UTC).
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def public_report_records(
    rows: Iterable[Mapping[str, Any]], *, request: HttpRequest | Request | None
) -> list[dict[str, Any]]:
    """``PublicReportSerializer(...).data`` of the reports in ``selectors.report_public_rows`` rows, built
    from the rows and one photo query: the same keys in the same order and the same values (a test
    compares the two), without 50 model instances and ~1,000 DRF field calls per page of the public list.
    The serializer stays the documented schema; photos, labels and ``forwarded_to`` follow its rules."""
    rows = list(rows)
    photos = selectors.public_photos(report_ids=[row["id"] for row in rows])
    language = request_language()
    status_labels = {status: status_label(status) for status in ReportStatus.values}
    zone = timezone.get_current_timezone()

    def absolute(url: str) -> str:
        return request.build_absolute_uri(url) if request is not None else url

    records = []
    for row in rows:
        status = row["status"]
        name = row.get(f"category__name_{language}") if language != "de" else None
        records.append(
            {
                "id": row["id"],
                "category": row["category__key"],
                "category_label": name or row["category__name_de"],
                "category_group": row["category__parent__key"],
                "status": status,
                "status_label": status_labels.get(status) or status_label(status),
                "description": row["description"],
                "address": row["address"],
                "stadtteil": row["stadtteil"],
                "latitude": float(row["latitude"]),
                "longitude": float(row["longitude"]),
                "support_count": row["support_count"],
                "duplicate_of": row["duplicate_of_id"],
                "forwarded_to": public_forwarded_to(status, row["forwarded_to"]),
                "photos": [
                    {
                        "image": absolute(
                            photo_path(public_id=photo.public_id, content_hash=photo.content_hash)
                        ),
                        "thumbnail": absolute(
                            photo_path(
                                public_id=photo.public_id, content_hash=photo.content_hash, thumbnail=True
                            )
                        ),
                        "width": photo.width,
                        "height": photo.height,
                    }
                    for photo in photos.get(row["id"], ())
                ],
                "created_at": _iso_datetime(row["created_at"], zone),
                "updated_at": _iso_datetime(row["updated_at"], zone),
                "closed_at": _iso_datetime(row["closed_at"], zone),
            }
        )
    return records


class PublicReportDetailSerializer(PublicReportSerializer):
    timeline = ReportTimelineEntrySerializer(
        source="public_events", many=True, help_text="Oldest first: filed, status changes, public replies."
    )

    class Meta(PublicReportSerializer.Meta):
        fields = [*PublicReportSerializer.Meta.fields, "timeline"]
        read_only_fields = fields


class ReporterReportSerializer(PublicReportDetailSerializer):
    """The report as its reporter sees it: also the answers and the contact data they gave."""

    # Absent is null, never "": an empty string is no e-mail address (docs/api.md#schema-conformance).
    contact_email = NullableEmailField(read_only=True, help_text="Null: none given.")

    class Meta(PublicReportDetailSerializer.Meta):
        fields = [
            *PublicReportDetailSerializer.Meta.fields,
            "answers",
            "contact_email",
            "contact_phone",
            "contact_consent",
        ]
        read_only_fields = fields


class NearbyReportSerializer(serializers.Serializer[NearbyReport]):
    distance_m = serializers.FloatField(help_text="Metres from the given point.")
    supported_by_me = serializers.BooleanField(help_text="This installation said 'me too' already.")
    reported_by_me = serializers.BooleanField(help_text="This installation filed it.")
    report = PublicReportSerializer()


class NearbyReportListSerializer(serializers.Serializer[Any]):
    radius_m = serializers.IntegerField()
    results = NearbyReportSerializer(many=True)


class SupportSerializer(serializers.Serializer[Report]):
    id = serializers.IntegerField()
    support_count = serializers.IntegerField(help_text="Installations that said 'me too'.")


# --- Reports: input


class ReportSubmitSerializer(serializers.Serializer[Any]):
    """A new report. Location, category state, answers, photos and consent are checked by the service."""

    category = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Category.objects.select_related("parent").prefetch_related("questions"),
        help_text="Key of an active leaf category from `GET /reports/categories`.",
    )
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    latitude = serializers.FloatField(help_text="WGS84, inside Castrop-Rauxel.")
    longitude = serializers.FloatField(help_text="WGS84, inside Castrop-Rauxel.")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    answers = BoundedJSONField(
        required=False,
        default=dict,
        help_text="Answers keyed by question key; in multipart/form-data a JSON string.",
    )
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        required=False,
        default=list,
        help_text="Up to 5 JPEG, PNG, WebP or HEIC photos (multipart/form-data only), 15 MB each.",
    )
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    contact_phone = serializers.RegexField(
        PHONE_PATTERN,
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": _("Enter a phone number.")},
    )
    contact_consent = serializers.BooleanField(
        required=False, default=False, help_text="Required when contact data is given."
    )
    idempotency_key = serializers.RegexField(
        IDEMPOTENCY_KEY_PATTERN,
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": _("Use up to 64 letters, digits, '-' or '_'.")},
        help_text=(
            "Generated by the app once per report (e.g. a UUID) and sent again on every retry: a "
            "repeated key answers the report filed first, with status 200."
        ),
    )


class ReportSubmitMultipartSerializer(ReportSubmitSerializer):
    """A report as `multipart/form-data`: the JSON fields, `answers` as a JSON string, and up to 5 photos."""

    answers = serializers.CharField(  # type: ignore[assignment]
        required=False, help_text='A JSON object as a string, e.g. {"fehlerbild": "aus"}.'
    )
    photos = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text="Repeat the `photos` part for each photo, up to 5.",
    )


# Positions are `latitude`/`longitude` everywhere (docs/api.md#positions-and-times); `lat`/`lon` were this
# endpoint's first names and keep working for API v1, marked deprecated in the schema.
NEARBY_DEPRECATED_NAMES = {"latitude": "lat", "longitude": "lon"}


class NearbyQuerySerializer(serializers.Serializer[Any]):
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, help_text="WGS84.")
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, help_text="WGS84.")
    lat = serializers.FloatField(
        min_value=-90, max_value=90, required=False, help_text="Deprecated: send `latitude`."
    )
    lon = serializers.FloatField(
        min_value=-180, max_value=180, required=False, help_text="Deprecated: send `longitude`."
    )
    category = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Category.objects.all(),
        help_text="Key of the category about to be reported (a group key covers its categories).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A client of the old names hears about the old names; every other one about the new.
        old_style = not ({"latitude", "longitude"} & self.initial_data.keys()) and bool(
            {"lat", "lon"} & self.initial_data.keys()
        )
        missing = {}
        for name, old_name in NEARBY_DEPRECATED_NAMES.items():
            value = attrs.get(name, attrs.pop(old_name, None))
            attrs.pop(old_name, None)
            if value is None:
                missing[old_name if old_style else name] = [self.fields[name].error_messages["required"]]
            attrs[name] = value
        if missing:
            raise serializers.ValidationError(missing, code="required")
        return attrs


class WithdrawSerializer(serializers.Serializer[Any]):
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer[Any]):
    message = serializers.CharField(max_length=2000, help_text="What is still wrong.")


# --- Open data: filters


@extend_schema_field(OpenApiTypes.STR)
class BoundingBoxField(serializers.Field):  # type: ignore[type-arg]
    default_error_messages = {
        "invalid": _("Give four numbers: minLon,minLat,maxLon,maxLat."),
        "range": _("Longitudes lie within -180..180 and latitudes within -90..90."),
        "order": _("The minimum must be smaller than the maximum."),
        "span": _("The box may span at most {degrees} degrees."),
    }

    def to_internal_value(self, data: Any) -> BoundingBox:
        parts = str(data).split(",")
        if len(parts) != 4 or len(str(data)) > 200:
            self.fail("invalid")
        try:
            min_lon, min_lat, max_lon, max_lat = (float(part) for part in parts)
        except ValueError:
            self.fail("invalid")
        if not all(math.isfinite(value) for value in (min_lon, min_lat, max_lon, max_lat)):
            self.fail("invalid")
        if not (
            -180 <= min_lon <= 180
            and -180 <= max_lon <= 180
            and -90 <= min_lat <= 90
            and -90 <= max_lat <= 90
        ):
            self.fail("range")
        if min_lon >= max_lon or min_lat >= max_lat:
            self.fail("order")
        if max_lon - min_lon > MAX_BBOX_SPAN_DEGREES or max_lat - min_lat > MAX_BBOX_SPAN_DEGREES:
            self.fail("span", degrees=MAX_BBOX_SPAN_DEGREES)
        return BoundingBox(
            min_longitude=min_lon, min_latitude=min_lat, max_longitude=max_lon, max_latitude=max_lat
        )

    def to_representation(self, value: BoundingBox) -> str:
        return f"{value.min_longitude},{value.min_latitude},{value.max_longitude},{value.max_latitude}"


@extend_schema_field(OpenApiTypes.STR)
class StatusListField(serializers.Field):  # type: ignore[type-arg]
    default_error_messages = {"invalid_choice": _("Unknown status: {status}.")}

    def to_internal_value(self, data: Any) -> list[str]:
        statuses = [part.strip() for part in str(data).split(",") if part.strip()]
        for status in statuses:
            if status not in ReportStatus.values:
                self.fail("invalid_choice", status=status[:40])
        return statuses

    def to_representation(self, value: list[str]) -> str:
        return ",".join(value)


class PublicReportQuerySerializer(serializers.Serializer[Any]):
    bbox = BoundingBoxField(
        required=False,
        help_text=f"minLon,minLat,maxLon,maxLat (WGS84), at most {MAX_BBOX_SPAN_DEGREES:g}° each way.",
    )
    status = StatusListField(
        source="statuses",
        required=False,
        help_text="Comma-separated statuses, e.g. `eingegangen,in_pruefung,in_bearbeitung`.",
    )
    category = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Category.objects.all(),
        required=False,
        help_text="A category key; a group's key selects all its categories.",
    )
    stadtteil = serializers.ChoiceField(choices=STADTTEIL_CHOICES, required=False)
    updated_since = serializers.DateTimeField(
        required=False, help_text="ISO 8601; reports changed at or after this time."
    )


# --- Statistics


class StatusCountSerializer(serializers.Serializer[Any]):
    status = report_status_field()
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class CategoryCountSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    total = serializers.IntegerField()
    open = serializers.IntegerField()


class StadtteilCountSerializer(serializers.Serializer[Any]):
    stadtteil = serializers.CharField(allow_null=True, help_text="None: in no imported Stadtteil.")
    total = serializers.IntegerField()
    open = serializers.IntegerField()


class DayCountSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(help_text="A calendar day in Europe/Berlin.")
    count = serializers.IntegerField()


class ReportStatsSerializer(serializers.Serializer[ReportStats]):
    generated_at = serializers.DateTimeField()
    total_count = serializers.IntegerField(help_text="Visible reports ever filed.")
    open_count = serializers.IntegerField(help_text="Received, in review or in progress.")
    by_status = serializers.SerializerMethodField()
    by_category = serializers.SerializerMethodField()
    stadtteile_available = serializers.BooleanField(
        help_text="Whether Stadtteil polygons are imported; without them `by_stadtteil` is empty."
    )
    by_stadtteil = StadtteilCountSerializer(
        many=True, help_text="Only with `stadtteile_available`: each Stadtteil, zeros included."
    )
    per_day = serializers.SerializerMethodField(help_text="Reports filed per day, the last 30 days.")
    closed_recently_count = serializers.IntegerField(
        help_text="Reports the city closed in the last 90 days, in any closed status but withdrawn."
    )
    resolved_recently_count = serializers.IntegerField(
        help_text="Reports resolved (done) in the last 90 days: the sample of the resolution median."
    )
    first_responses_recently_count = serializers.IntegerField(
        help_text="Reports first answered in the last 90 days: the sample of the first-response median."
    )
    median_hours_to_first_response = serializers.FloatField(
        allow_null=True,
        help_text="Hours from filing to the first public staff reaction of any kind (status change, "
        "reply, forwarding to another category).",
    )
    median_hours_to_resolution = serializers.FloatField(
        allow_null=True,
        help_text="Hours from filing to done; rejected, duplicate, forwarded and withdrawn reports "
        "are not counted.",
    )

    @extend_schema_field(StatusCountSerializer(many=True))
    def get_by_status(self, stats: ReportStats) -> list[dict[str, Any]]:
        return [
            {"status": status, "label": status_label(status), "count": count}
            for status, count in stats.by_status
        ]

    @extend_schema_field(CategoryCountSerializer(many=True))
    def get_by_category(self, stats: ReportStats) -> list[dict[str, Any]]:
        return [
            {
                "key": row.category.key,
                "label": localized(row.category, "name"),
                "total": row.total,
                "open": row.open,
            }
            for row in stats.by_category
        ]

    @extend_schema_field(DayCountSerializer(many=True))
    def get_per_day(self, stats: ReportStats) -> list[dict[str, Any]]:
        return [{"date": row.day.isoformat(), "count": row.count} for row in stats.per_day]


# --- The city-hall screen


class ScreenQuerySerializer(serializers.Serializer[Any]):
    stadtteil = serializers.ChoiceField(choices=STADTTEIL_CHOICES, required=False)
    category = serializers.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated category keys; a group's key selects all its categories.",
    )

    def validate_category(self, value: str) -> list[Category]:
        keys = sorted({key.strip() for key in value.split(",") if key.strip()})
        found = list(Category.objects.filter(key__in=keys).order_by("key"))
        unknown = sorted(set(keys) - {category.key for category in found})
        if unknown:
            raise serializers.ValidationError(_("Unknown category: %(keys)s.") % {"keys": ", ".join(unknown)})
        return found


class ScreenCategoryCountSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class ScreenAgeCountSerializer(serializers.Serializer[Any]):
    age = serializers.ChoiceField(choices=["under_2_days", "2_to_7_days", "8_to_30_days", "older"])
    count = serializers.IntegerField()


class ScreenReportSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    category_label = serializers.CharField()
    place = serializers.CharField(help_text="The street without house number, else the Stadtteil.")
    created_at = serializers.DateTimeField()
    thumbnail = serializers.CharField(
        allow_null=True, help_text="Path of the first public photo's thumbnail, if any."
    )


class ScreenResolvedSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    category_label = serializers.CharField()
    place = serializers.CharField()
    days = serializers.IntegerField(help_text="Whole days from filing to done.")


class ScreenPointSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    status = report_status_field()


class ScreenSummarySerializer(serializers.Serializer[ScreenSummary]):
    generated_at = serializers.DateTimeField(help_text="When this state was first computed.")
    today_count = serializers.IntegerField(help_text="Filed since midnight, Europe/Berlin.")
    week_count = serializers.IntegerField(help_text="Filed since Monday midnight, Europe/Berlin.")
    open_count = serializers.IntegerField(help_text="Received, in review or in progress.")
    resolved_last_7_days_count = serializers.IntegerField(help_text="Resolved (done) in the last 7 days.")
    stadtteile_available = serializers.BooleanField(
        help_text="Whether Stadtteil polygons are loaded. Without them reports have no Stadtteil, and the "
        "figures of one Stadtteil are all zero."
    )
    open_by_category = serializers.SerializerMethodField()
    open_by_age = serializers.SerializerMethodField()
    median_days_to_first_response_30 = serializers.FloatField(
        allow_null=True, source="medians.to_first_response_30"
    )
    median_days_to_first_response_90 = serializers.FloatField(
        allow_null=True, source="medians.to_first_response_90"
    )
    median_days_to_resolution_30 = serializers.FloatField(allow_null=True, source="medians.to_resolution_30")
    median_days_to_resolution_90 = serializers.FloatField(allow_null=True, source="medians.to_resolution_90")
    newest = serializers.SerializerMethodField()
    recently_resolved = serializers.SerializerMethodField()
    points = serializers.SerializerMethodField(
        help_text="Open reports and those closed in the last 7 days, the newest 2,000."
    )

    @extend_schema_field(ScreenCategoryCountSerializer(many=True))
    def get_open_by_category(self, summary: ScreenSummary) -> list[dict[str, Any]]:
        return [
            {"key": category.key, "label": localized(category, "name"), "count": count}
            for category, count in summary.open_by_category
        ]

    @extend_schema_field(ScreenAgeCountSerializer(many=True))
    def get_open_by_age(self, summary: ScreenSummary) -> list[dict[str, Any]]:
        return [{"age": age, "count": count} for age, count in summary.open_by_age]

    @extend_schema_field(ScreenPointSerializer(many=True))
    def get_points(self, summary: ScreenSummary) -> list[dict[str, Any]]:
        # Plain dicts: up to 2,000 points through a nested serializer cost more than all the queries.
        return [
            {"id": point.id, "latitude": point.latitude, "longitude": point.longitude, "status": point.status}
            for point in summary.points
        ]

    @extend_schema_field(ScreenReportSerializer(many=True))
    def get_newest(self, summary: ScreenSummary) -> list[dict[str, Any]]:
        zone = timezone.get_current_timezone()
        return [
            {
                "id": report.id,
                "category_label": localized(report.category, "name"),
                "place": report.place,
                "created_at": _iso_datetime(report.created_at, zone),
                # Relative: the answer is cached for every host name the site is reached by.
                "thumbnail": report.thumbnail or None,
            }
            for report in summary.newest
        ]

    @extend_schema_field(ScreenResolvedSerializer(many=True))
    def get_recently_resolved(self, summary: ScreenSummary) -> list[dict[str, Any]]:
        return [
            {
                "id": report.id,
                "category_label": localized(report.category, "name"),
                "place": report.place,
                "days": report.days,
            }
            for report in summary.recently_resolved
        ]

"""Shapes of the staff triage API of the Mängelmelder. The rules live in the services and selectors.

Staff see everything of a report except the reporter's installation id: only whether there is one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from casapp.api.fields import (
    DATABASE_ID_MAX,
    NamedChoiceField,
    NullableChoiceField,
    NullableEmailField,
    NullableURLField,
)
from casapp.city import STADTTEIL_CHOICES
from reports.api.fields import report_status_field
from reports.models import (
    MAX_DESCRIPTION,
    Category,
    Department,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
)
from reports.services import ALLOWED_TRANSITIONS
from reports.staff_selectors import DEFAULT_QUEUE_ORDERING, QUEUE_ORDERINGS, partner_submission

MAX_REMOVED_PHOTOS = 20
MAX_REDACTED_MESSAGES = 20


# --- Output


class StaffUserSerializer(serializers.ModelSerializer[User]):
    full_name = serializers.CharField(source="get_full_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name"]
        read_only_fields = fields


class StaffDepartmentSerializer(serializers.ModelSerializer[Department]):
    class Meta:
        model = Department
        fields = ["key", "name"]
        read_only_fields = fields


class StaffCategorySerializer(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["key", "name_de", "name_en"]
        read_only_fields = fields


class StaffReportSerializer(serializers.ModelSerializer[Report]):
    """A row of the triage queue."""

    category = StaffCategorySerializer(read_only=True)
    department = StaffDepartmentSerializer(source="category.department", read_only=True)
    assigned_to = StaffUserSerializer(read_only=True, allow_null=True)
    status = report_status_field(read_only=True)
    has_photo = serializers.BooleanField(read_only=True, help_text="At least one photo not removed.")
    stadtteil = NullableChoiceField(
        choices=STADTTEIL_CHOICES, help_text="Null where the point lies in no imported Stadtteil."
    )

    class Meta:
        model = Report
        fields = [
            "id",
            "category",
            "department",
            "status",
            "description",
            "address",
            "stadtteil",
            "latitude",
            "longitude",
            "support_count",
            "assigned_to",
            "has_photo",
            "hidden",
            "created_at",
            "updated_at",
            "first_response_at",
            "closed_at",
        ]
        read_only_fields = fields


class StaffReportPhotoSerializer(serializers.ModelSerializer[ReportPhoto]):
    class Meta:
        model = ReportPhoto
        fields = ["id", "image", "thumbnail", "width", "height", "position", "removed"]
        read_only_fields = fields


class StaffReportEventSerializer(serializers.ModelSerializer[ReportEvent]):
    """One entry of the history. ``is_public`` entries are shown to the reporter and the public (their
    ``public_message``); ``internal_note`` is for staff only, always."""

    kind = NamedChoiceField(enum_name="ReportEventKindEnum", choices=ReportEvent.Kind.choices, read_only=True)
    actor = StaffUserSerializer(read_only=True, allow_null=True)
    from_status = report_status_field(read_only=True, allow_blank=True)
    to_status = report_status_field(read_only=True, allow_blank=True)
    redacted_by = StaffUserSerializer(
        read_only=True, allow_null=True, help_text="Who replaced the public message (moderation)."
    )

    class Meta:
        model = ReportEvent
        fields = [
            "id",
            "kind",
            "actor",
            "from_status",
            "to_status",
            "public_message",
            "internal_note",
            "is_public",
            "created_at",
            "redacted_at",
            "redacted_by",
        ]
        read_only_fields = fields


class StaffMediaFetchSerializer(serializers.Serializer[Any]):
    url = serializers.URLField()
    outcome = serializers.ChoiceField(
        choices=["stored", "refused", "failed"],
        help_text="stored: now one of the photos; refused: will not be tried again; failed: may be retried.",
    )
    reason = serializers.CharField(
        help_text="Why not stored, e.g. address_not_public, host_not_listed, not_an_image, too_large, "
        "too_slow, unreachable, http_404, unsupported_photo; empty when stored."
    )
    at = serializers.DateTimeField()


class StaffPartnerSubmissionSerializer(serializers.Serializer[Any]):
    """Who filed a report through Open311 and what it sent beyond the service definition."""

    partner = serializers.CharField(source="api_key.name", help_text="The partner system's name.")
    sender_reference = serializers.CharField(help_text="The sender's own id of the report; empty: none.")
    sender_metadata = serializers.DictField(
        help_text="The sender's attributes beyond the service definition (string or list of strings)."
    )
    media_urls = serializers.ListField(
        child=serializers.URLField(),
        help_text="Every media link the sender gave; fetched only from hosts the operator listed.",
    )
    media_fetches = serializers.ListField(
        child=StaffMediaFetchSerializer(),
        help_text="What became of each link fetched from a listed host; empty: none fetched.",
    )


class StaffReportDetailSerializer(StaffReportSerializer):
    """Everything staff need to triage a report, private contact data included."""

    photos = StaffReportPhotoSerializer(many=True, read_only=True, help_text="Removed photos too.")
    events = StaffReportEventSerializer(
        many=True, read_only=True, help_text="The whole history, oldest first."
    )
    has_installation = serializers.SerializerMethodField(
        help_text="Whether the report came from an installation that can still be notified."
    )
    duplicates = serializers.PrimaryKeyRelatedField[Report](
        many=True, read_only=True, help_text="Reports merged into this one."
    )
    allowed_transitions = serializers.SerializerMethodField(
        help_text="The statuses staff can move the report to from its current status."
    )
    media_url = NullableURLField(help_text="The reporter's link to a video or more photos; null: none.")
    partner_submission = serializers.SerializerMethodField(
        help_text="Filed by a partner system through Open311; null: filed in the app."
    )
    contact_email = NullableEmailField(help_text="Null: none given, or erased after the retention time.")

    class Meta(StaffReportSerializer.Meta):
        fields = [
            *StaffReportSerializer.Meta.fields,
            "answers",
            "media_url",
            "partner_submission",
            "contact_name",
            "contact_email",
            "contact_phone",
            "contact_consent",
            "contact_erased_at",
            "has_installation",
            "forwarded_to",
            "duplicate_of",
            "duplicates",
            "allowed_transitions",
            "photos",
            "events",
        ]
        read_only_fields = fields

    @extend_schema_field(StaffPartnerSubmissionSerializer(allow_null=True))
    def get_partner_submission(self, report: Report) -> dict[str, Any] | None:
        submission = partner_submission(report)
        return StaffPartnerSubmissionSerializer(submission).data if submission is not None else None

    def get_has_installation(self, report: Report) -> bool:
        return report.installation_id is not None

    def get_allowed_transitions(self, report: Report) -> list[str]:
        return [str(status) for status in ALLOWED_TRANSITIONS.get(report.status, ())]


# --- Input


def _sort_choices() -> list[str]:
    return list(QUEUE_ORDERINGS)


class StaffReportQueueQuerySerializer(serializers.Serializer[Any]):
    """Filters of the queue; every filter given narrows it."""

    status = serializers.CharField(
        required=False, help_text="Comma-separated statuses, e.g. `eingegangen,in_pruefung`."
    )
    category = serializers.SlugField(required=False, help_text="A category key.")
    department = serializers.SlugField(required=False, help_text="A department key.")
    stadtteil = serializers.ChoiceField(choices=STADTTEIL_CHOICES, required=False)
    older_than_days = serializers.IntegerField(
        required=False, min_value=0, max_value=36500, help_text="Reported at least this many days ago."
    )
    newer_than_days = serializers.IntegerField(
        required=False, min_value=0, max_value=36500, help_text="Reported at most this many days ago."
    )
    assigned = serializers.RegexField(
        r"^(me|none|[1-9][0-9]{0,17})$",
        required=False,
        help_text="`me`, `none` (unassigned) or a staff user id.",
    )
    has_photo = serializers.BooleanField(required=False, allow_null=True, default=None)
    hidden = serializers.BooleanField(required=False, allow_null=True, default=None)
    q = serializers.CharField(
        required=False, max_length=200, help_text="Words in the description or address, or a report number."
    )
    sort = serializers.ChoiceField(choices=_sort_choices(), default=DEFAULT_QUEUE_ORDERING)

    def validate_status(self, value: str) -> list[str]:
        statuses = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [status for status in statuses if status not in ReportStatus.values]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown status: %(statuses)s.") % {"statuses": ", ".join(unknown)}, code="invalid_choice"
            )
        return statuses

    def validate_assigned(self, value: str) -> str | int:
        return value if value in ("me", "none") else int(value)


class StaffReportField(serializers.PrimaryKeyRelatedField[Report]):
    """A report id, resolved among the reports the caller may see (``context["reports"]``)."""

    def get_queryset(self) -> QuerySet[Report]:
        reports: QuerySet[Report] = self.context["reports"]
        return reports


class StaffReportTransitionSerializer(serializers.Serializer[Any]):
    status = report_status_field()
    public_message = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Shown to the reporter and pushed to their phone; required to reject.",
    )
    internal_note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    duplicate_of = StaffReportField(
        queryset=Report.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The original report; required for `duplikat`.",
    )
    forwarded_to = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The responsible authority; required for `nicht_zustaendig`.",
    )


class StaffReportAssignSerializer(serializers.Serializer[Any]):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        allow_null=True,
        help_text="A staff user id who may work on the report's department, or null to unassign.",
    )


class StaffReportReplySerializer(serializers.Serializer[Any]):
    message = serializers.CharField(max_length=2000, help_text="Public; pushed to the reporter's phone.")


class StaffReportNoteSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(max_length=4000, help_text="Internal; never shown outside the staff tools.")


class StaffReportMergeSerializer(serializers.Serializer[Any]):
    into = StaffReportField(queryset=Report.objects.all(), help_text="The original report.")
    public_message = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    internal_note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class StaffReportRerouteSerializer(serializers.Serializer[Any]):
    category = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Category.objects.all(),
        help_text="Key of the leaf category the report belongs in; any department's, not only the caller's.",
    )
    reason = serializers.CharField(max_length=2000, help_text="Why it is forwarded; internal, staff only.")


class StaffReportRerouteResultSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    category = serializers.CharField(help_text="Key of the new category.")
    department = serializers.CharField(help_text="Name of the department that has the report now.")
    visible = serializers.BooleanField(
        help_text="Whether the caller still sees the report (false once it left the caller's departments)."
    )


class StaffReportRedactionSerializer(serializers.Serializer[Any]):
    event = serializers.IntegerField(
        min_value=1, max_value=DATABASE_ID_MAX, help_text="Id of a public event of this report (`events`)."
    )
    public_message = serializers.CharField(
        max_length=2000, allow_blank=True, help_text="What the timeline shows instead; may be empty."
    )


class StaffReportModerateSerializer(serializers.Serializer[Any]):
    hide = serializers.BooleanField(required=False, help_text="Hide from (or show again in) the public map.")
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION, required=False, allow_blank=True, help_text="The redacted description."
    )
    remove_photo_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=DATABASE_ID_MAX),
        required=False,
        max_length=MAX_REMOVED_PHOTOS,
        help_text="Photos of this report to remove from public view (kept for staff).",
    )
    redact_messages = serializers.ListField(
        child=StaffReportRedactionSerializer(),
        required=False,
        max_length=MAX_REDACTED_MESSAGES,
        help_text=(
            "Public messages of the timeline to replace: the original is overwritten, the event records "
            "who redacted it and when."
        ),
    )

    def validate_redact_messages(self, value: list[dict[str, Any]]) -> dict[int, str]:
        messages = {item["event"]: item["public_message"] for item in value}
        if len(messages) != len(value):
            raise serializers.ValidationError(_("Name each event once."), code="invalid")
        return messages

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                _("Say what to moderate: hide, description, remove_photo_ids or redact_messages."),
                code="required",
            )
        if "redact_messages" in attrs:
            attrs["event_messages"] = attrs.pop("redact_messages")
        return attrs

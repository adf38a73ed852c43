"""The app's side of Mitmach-Aktionen: the campaigns, their public gallery, sending and withdrawing photos.

Mounted at ``/api/v1/campaigns/`` (``push.participation.urls``). Listing, detail and gallery are public
(credentials are ignored); sending, listing one's own and withdrawing need the installation's ``Device``
secret.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.caching import cache_private, cache_public, request_language
from casapp.api.pagination import CursorPagination
from casapp.api.permissions import PublicEndpoint
from casapp.api.throttling import FixedWindowThrottle
from push.authentication import DeviceOnly, request_installation
from push.participation import selectors, services
from push.participation.models import TEXT_MAX_LENGTH, Participation, Submission, SubmissionStatus

LIST_MAX_AGE = 60
# Short: a photo withdrawn or removed leaves the gallery within this long in shared caches (its file is
# deleted at once, so its URL stops answering immediately).
GALLERY_MAX_AGE = 30

# --- Throttles of sending a photo


class SubmissionDayThrottle(FixedWindowThrottle):
    """Photos sent per installation per day (``THROTTLE_CAMPAIGN_SUBMISSION_DAY``), over all campaigns.

    Only stored photos count: a refused one (no consent, a broken file) does not use up the day."""

    scope = "campaign_submission_day"
    charge_on_success = True

    def identity(self, request: Request) -> str:
        return f"i{request_installation(request).pk}"


class SubmissionIpThrottle(FixedWindowThrottle):
    """Every attempt per client IP (``THROTTLE_CAMPAIGN_SUBMISSION_IP``): a script registering installation
    after installation still sends from one address."""

    scope = "campaign_submission_ip"


# --- Serializers


class ParticipationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    notice_id = serializers.CharField(
        help_text="The notice that announced the campaign (`n-<notification id>`, as in `GET /notices/`)."
    )
    title = serializers.CharField()
    body = serializers.CharField(help_text="The campaign notification's text.")
    description = serializers.CharField(help_text="What to send, e.g. what to photograph.")
    closes_at = serializers.DateTimeField(help_text="Photos are accepted until then.")
    open = serializers.BooleanField(help_text="Photos are accepted now.")
    max_submissions = serializers.IntegerField(help_text="Photos one installation may send to this campaign.")
    photos_published = serializers.IntegerField(help_text="Photos in the gallery.")


class _StoredFileUrls:
    context: dict[str, Any]

    def _url(self, name: str) -> str:
        # Served by us (push.public_urls.campaign_photo), never a storage URL: a signed one expires, and
        # without a bucket nothing serves the media folder outside debug.
        participation_id, file_name = name.split("/")[-2:]
        url = reverse("push-campaign-photo", args=[int(participation_id), file_name.removesuffix(".jpg")])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class GalleryPhotoSerializer(_StoredFileUrls, serializers.Serializer[Any]):
    """An approved photo: nothing of who sent it, only the text as the city approved it."""

    id = serializers.IntegerField()
    image = serializers.SerializerMethodField(help_text="JPEG, at most 2048 px on its long edge.")
    thumbnail = serializers.SerializerMethodField(help_text="JPEG, at most 400 px on its long edge.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    text = serializers.CharField(source="public_text", help_text="As approved; may be empty.")
    published_at = serializers.DateTimeField()

    def get_image(self, submission: Submission) -> str:
        return self._url(submission.photo.name)

    def get_thumbnail(self, submission: Submission) -> str:
        return self._url(submission.thumbnail.name)


class OwnSubmissionSerializer(_StoredFileUrls, serializers.Serializer[Any]):
    """What the sender sees of their own photo: its status and the text they sent."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=SubmissionStatus.choices,
        help_text="pending (awaiting moderation), approved (in the gallery), rejected or removed (photo "
        "deleted by the city).",
    )
    image = serializers.SerializerMethodField(help_text="JPEG; null once rejected or removed (deleted).")
    thumbnail = serializers.SerializerMethodField(help_text="JPEG; null once rejected or removed.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    text = serializers.CharField(help_text="As sent.")
    public_text = serializers.CharField(help_text="As published; empty unless approved.")
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True, help_text="When it entered the gallery.")

    def get_image(self, submission: Submission) -> str | None:
        return self._url(submission.photo.name) if submission.photo else None

    def get_thumbnail(self, submission: Submission) -> str | None:
        return self._url(submission.thumbnail.name) if submission.thumbnail else None


class SubmissionCreateSerializer(serializers.Serializer[Any]):
    """One photo. Consent, the campaign's state and the photo itself are checked by the service."""

    photo = serializers.FileField(
        allow_empty_file=False, help_text="One JPEG, PNG, WebP or HEIC photo, at most 15 MB."
    )
    text = serializers.CharField(
        max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True, default="", help_text="E.g. the wish."
    )
    consent_publication = serializers.BooleanField(
        help_text="Must be true: the city may publish photo and text (app, website, print), without a name."
    )
    is_child = serializers.BooleanField(
        required=False, default=False, help_text="The photo is sent by or for a child (under 16)."
    )
    parental_consent = serializers.BooleanField(
        required=False, default=False, help_text="Required true with `is_child`: a parent agrees."
    )


# --- Views


class ParticipationPagination(CursorPagination):
    ordering = ("-created_at", "-pk")  # type: ignore[assignment]


class GalleryPagination(CursorPagination):
    ordering = ("-published_at", "-pk")  # type: ignore[assignment]


def _public_participation(participation_id: int) -> Participation:
    return get_object_or_404(selectors.participations_public(), pk=participation_id)


PARTICIPATION_EXAMPLE = {
    "id": 3,
    "notice_id": "n-42",
    "title": "Wunschfenster",
    "body": "Malt euren Wunsch ins Fenster und schickt uns ein Foto!",
    "description": "Ein Foto eures Fensters mit dem Wunsch, bis zu drei pro Familie.",
    "closes_at": "2026-12-24T12:00:00+01:00",
    "open": True,
    "max_submissions": 3,
    "photos_published": 12,
}
GALLERY_PHOTO_EXAMPLE = {
    "id": 17,
    "image": "https://app.castrop-rauxel.de/push/campaign-photos/3/Zr0v2o2V8bQ.jpg",
    "thumbnail": "https://app.castrop-rauxel.de/push/campaign-photos/3/q1XG3Jm0-thumb.jpg",
    "width": 1536,
    "height": 2048,
    "text": "Schnee zu Weihnachten",
    "published_at": "2026-12-06T10:15:00+01:00",
}


class ParticipationListView(PublicEndpoint, GenericAPIView[Participation]):
    pagination_class = ParticipationPagination
    filter_backends = []

    @extend_schema(
        operation_id="campaigns_list",
        responses=ParticipationSerializer(many=True),
        tags=["campaigns"],
        summary="Mitmach-Aktionen",
        description=(
            "Campaigns that invite photos, open and closed, newest first; cursor-paginated. Text in the "
            "language of Accept-Language (German fallback)."
        ),
        examples=[
            # A list's example is one item: drf-spectacular wraps it in the page.
            OpenApiExample("A page", value=PARTICIPATION_EXAMPLE)
        ],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.participations_public()) or []
        language, now = request_language(), timezone.now()
        items = [selectors.participation_public(p, language=language, now=now) for p in page]
        response = self.get_paginated_response(ParticipationSerializer(items, many=True).data)
        return cache_public(response, max_age=LIST_MAX_AGE)


class ParticipationView(PublicEndpoint, APIView):
    @extend_schema(
        operation_id="campaigns_read",
        responses=ParticipationSerializer,
        tags=["campaigns"],
        summary="One Mitmach-Aktion",
        description="Unknown or unpublished campaigns: 404.",
        examples=[OpenApiExample("Wunschfenster", value=PARTICIPATION_EXAMPLE)],
    )
    def get(self, request: Request, participation_id: int) -> Response:
        participation = _public_participation(participation_id)
        item = selectors.participation_public(participation, language=request_language(), now=timezone.now())
        return cache_public(Response(ParticipationSerializer(item).data), max_age=LIST_MAX_AGE)


class GalleryView(PublicEndpoint, GenericAPIView[Submission]):
    pagination_class = GalleryPagination
    filter_backends = []

    @extend_schema(
        operation_id="campaigns_gallery",
        responses=GalleryPhotoSerializer(many=True),
        tags=["campaigns"],
        summary="The approved photos of a campaign",
        description=(
            "Newest first, cursor-paginated. Only photos the city approved, with the text as approved; "
            "nothing of the sender (no installation, no consent details). A photo withdrawn or removed "
            f"is gone from the next answer (shared caches keep an answer {GALLERY_MAX_AGE} s)."
        ),
        examples=[OpenApiExample("A page", value=GALLERY_PHOTO_EXAMPLE)],
    )
    def get(self, request: Request, participation_id: int) -> Response:
        participation = _public_participation(participation_id)
        page = self.paginate_queryset(selectors.gallery_queryset(participation=participation)) or []
        data = GalleryPhotoSerializer(page, many=True, context={"request": request}).data
        return cache_public(self.get_paginated_response(data), max_age=GALLERY_MAX_AGE)


_SUBMIT_DESCRIPTION = """\
Sends one photo with a short text as `multipart/form-data`. It awaits moderation and appears in the
gallery once the city approved it.

Refused, with nothing stored: the campaign is closed (`409 participation_closed`; a campaign not
published or unknown is `404`);
`consent_publication` is not true (`400 consent_required`); `is_child` without `parental_consent`
(`400 parental_consent_required`); the installation sent `max_submissions` photos to this campaign already
(`409 submission_limit`; withdrawing one frees its place); the file is no JPEG, PNG, WebP or HEIC photo
(`400 unsupported_photo`), damaged (`400 invalid_photo`) or too large (`400 photo_too_large`, 15 MB or
50 megapixels); a text of more than 280 characters (`400 validation_error`).

Limits: `THROTTLE_CAMPAIGN_SUBMISSION_DAY` stored photos per installation per day and
`THROTTLE_CAMPAIGN_SUBMISSION_IP` attempts per client IP (429 with Retry-After). The photo is published
without any of its metadata (EXIF position, camera, ...), at most 2048 px on its long edge.
"""


class SubmissionsView(DeviceOnly, APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [SubmissionDayThrottle, SubmissionIpThrottle]

    @extend_schema(
        operation_id="campaigns_submit",
        request={"multipart/form-data": SubmissionCreateSerializer},
        responses={201: OpenApiResponse(OwnSubmissionSerializer, description="Stored; awaits moderation.")},
        tags=["campaigns"],
        summary="Send a photo to a campaign",
        description=_SUBMIT_DESCRIPTION,
        examples=[
            OpenApiExample(
                "A wish",
                request_only=True,
                media_type="multipart/form-data",
                value={
                    "photo": "(binary JPEG)",
                    "text": "Schnee zu Weihnachten",
                    "consent_publication": True,
                    "is_child": True,
                    "parental_consent": True,
                },
            ),
            OpenApiExample(
                "Stored",
                response_only=True,
                status_codes=["201"],
                value={
                    **GALLERY_PHOTO_EXAMPLE,
                    "status": "pending",
                    "text": "Schnee zu Weihnachten",
                    "public_text": "",
                    "created_at": "2026-12-06T09:58:12+01:00",
                    "published_at": None,
                },
            ),
        ],
    )
    def post(self, request: Request, participation_id: int) -> Response:
        participation = _public_participation(participation_id)
        form = SubmissionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        submission = services.submission_create(
            participation=participation, installation=request_installation(request), **form.validated_data
        )
        SubmissionDayThrottle().charge(request, self)
        body = OwnSubmissionSerializer(submission, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class OwnSubmissionsView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="campaigns_submissions_mine",
        responses=OwnSubmissionSerializer(many=True),
        tags=["campaigns"],
        summary="The photos this installation sent to a campaign",
        description="Newest first, with their moderation status; at most `max_submissions` of them.",
    )
    def get(self, request: Request, participation_id: int) -> Response:
        participation = _public_participation(participation_id)
        own = selectors.submissions_of(
            participation=participation, installation=request_installation(request)
        )
        body = OwnSubmissionSerializer(own, many=True, context={"request": request}).data
        return cache_private(Response(body))


class SubmissionView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="campaigns_submission_withdraw",
        responses={204: None},
        tags=["campaigns"],
        summary="Withdraw consent: erase a photo this installation sent",
        description=(
            "Erases the photo, its thumbnail and its text everywhere: storage, gallery and every archive "
            "made afterwards. Whatever its status. Another installation's photo: 404."
        ),
    )
    def delete(self, request: Request, participation_id: int, submission_id: int) -> Response:
        services.submission_withdraw(
            installation=request_installation(request),
            participation_id=participation_id,
            submission_id=submission_id,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

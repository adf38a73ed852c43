"""The open data: what can be reported, the reports as a list and one by one, the figures for city
hall. Filing a report is a ``POST`` to the same collection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from casapp.api.caching import CountedWhenBuilt, cache_public
from casapp.api.pagination import CursorPagination
from casapp.api.parsers import BoundedJSONParser
from casapp.api.permissions import IsDevice, PublicEndpoint
from casapp.caching import shared_value
from push.authentication import DeviceAuthentication, request_installation
from reports import exports, screen, screen_figures, selectors, services, stats
from reports.api.serializers import (
    CategoryTreeSerializer,
    PublicReportDetailSerializer,
    PublicReportQuerySerializer,
    PublicReportSerializer,
    ReporterReportSerializer,
    ReportStatsSerializer,
    ReportSubmitMultipartSerializer,
    ReportSubmitSerializer,
    ScreenQuerySerializer,
    ScreenSummarySerializer,
    public_report_records,
    request_language,
)
from reports.api.views.app import ReportDayThrottle, ReportIpThrottle, reporter_response
from reports.api.views.exports import (
    EXPORT_FORMATS,
    CSVRenderer,
    GeoJSONRenderer,
    ReportExportThrottle,
    export_records,
    export_response,
    is_export,
)
from reports.models import Report

CATEGORIES_MAX_AGE = 300
PUBLIC_MAX_AGE = 60
STATS_CACHE_SECONDS = 60
# The licence travels with every open-data response as a registered link relation (RFC 4946), which
# harvesters read without parsing the body. CSV has no place for it inside: RFC 4180 knows no comment
# lines (a "# ..." first line would be read as the header row by every CSV reader), and a licence column
# would repeat one sentence on every row. The attribution sentence itself is in the API documentation.
LICENSE_LINK = f'<{exports.LICENSE_URL}>; rel="license"'


# --- Categories


class CategoriesView(PublicEndpoint, APIView):
    @extend_schema(
        operation_id="reports_categories",
        responses=CategoryTreeSerializer,
        tags=["reports"],
        summary="What can be reported",
        description=(
            "Active groups and their active categories, in the order the city arranged them, with the "
            "extra questions of each category. Names in the language of Accept-Language (de, en; German "
            "where no translation). Cacheable; send If-None-Match for a 304."
        ),
    )
    def get(self, request: Request) -> Response:
        tree = CategoryTreeSerializer({"groups": selectors.category_tree()}).data
        return cache_public(Response(tree), max_age=CATEGORIES_MAX_AGE)


# --- Filing and open data: one collection, two audiences


class PublicReportPagination(CursorPagination):
    # Newest first; the primary key orders reports filed in the same instant. (DRF takes a tuple here;
    # its stubs say str.)
    ordering = ("-created_at", "-pk")  # type: ignore[assignment]


_SUBMIT_DESCRIPTION = """\
Files a report as `multipart/form-data` (with photos) or `application/json` (without).

Send an `idempotency_key` generated once per report and repeated on every retry: a key this installation
used before answers **200** with the report filed first, and never files a second one. A new report
answers **201**. Both bodies are the report as its reporter sees it, contact data included.

Limits: `THROTTLE_REPORT_DAY` reports per installation per day and `THROTTLE_REPORT_IP` per client IP
(429 with Retry-After). A place outside Castrop-Rauxel (`outside_city`), a group or inactive category
(`invalid_category`), answers that do not fit the category's questions, more than 5 photos or a file that is
not a JPEG, PNG, WebP or HEIC photo, and contact data without `contact_consent` answer 400 naming the field.
Photos are published without any of their metadata (EXIF position, camera, ...).
"""

_LIST_DESCRIPTION = f"""\
Open data: every report not hidden by moderation, without contact data, installation, internal notes,
assignee or answers. Filters combine; `category` may be a group key.

`?format=json` (default) answers pages of 50 (cursor pagination, newest first).
`?format=geojson` answers an RFC 7946 FeatureCollection (`application/geo+json`, Point
`[longitude, latitude]`) and `?format=csv` a CSV file with a header row (`text/csv`), each with at most
{exports.EXPORT_LIMIT:,} reports, least recently changed first: when `X-Export-Truncated: true`, continue
with `updated_since` set to the last report's `updated_at`. `Accept: application/geo+json` or `text/csv`
works as well. An export is computed at most once a minute per combination of filters, with the `bbox`
widened outward to the next 0.001°, and has its own limit per client (`THROTTLE_REPORT_EXPORT`, 429 with
Retry-After).

Licence: {exports.LICENSE_NOTE} Every response links it as `Link: <{exports.LICENSE_URL}>; rel="license"`;
the GeoJSON carries it in its `license` and `attribution` members.
"""


class ReportsView(GenericAPIView[Report]):
    """``GET``: the public open-data list; ``POST``: an app installation files a report."""

    parser_classes = [MultiPartParser, BoundedJSONParser]
    pagination_class = PublicReportPagination
    filter_backends = []

    def _filing(self) -> bool:
        # Django's View.setup() sets self.request before DRF asks for authenticators; the schema
        # generator builds the view with no request first.
        return getattr(self.request, "method", None) == "POST"

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [DeviceAuthentication()] if self._filing() else []

    def get_permissions(self) -> Sequence[BasePermission]:
        return [IsDevice()] if self._filing() else [AllowAny()]

    def get_throttles(self) -> list[BaseThrottle]:
        if self._filing():
            return [ReportDayThrottle(), ReportIpThrottle()]
        # Content negotiation ran before the throttles are asked for (APIView.initial).
        if is_export(self.request):
            return [*super().get_throttles(), ReportExportThrottle()]
        return super().get_throttles()

    def get_renderers(self) -> list[BaseRenderer]:
        if self._filing():
            return [JSONRenderer()]
        return [JSONRenderer(), GeoJSONRenderer(), CSVRenderer()]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            # The one error shape is JSON, whatever representation was asked for.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        operation_id="reports_create",
        request={
            "multipart/form-data": ReportSubmitMultipartSerializer,
            "application/json": ReportSubmitSerializer,
        },
        responses={
            201: OpenApiResponse(ReporterReportSerializer, description="Filed."),
            200: OpenApiResponse(
                ReporterReportSerializer, description="Filed before with the same idempotency key."
            ),
        },
        tags=["reports"],
        summary="File a report",
        description=_SUBMIT_DESCRIPTION,
    )
    def post(self, request: Request) -> Response:
        submission = ReportSubmitSerializer(data=request.data)
        submission.is_valid(raise_exception=True)
        installation = request_installation(request)
        report, created = services.report_create(installation=installation, **submission.validated_data)
        if created:
            ReportDayThrottle().charge(request, self)
        return reporter_response(
            request,
            installation=installation,
            report_id=report.pk,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="reports_list",
        parameters=[
            PublicReportQuerySerializer,
            # Spectacular adds these to list views with a single response only.
            OpenApiParameter("cursor", str, description="The pagination cursor value (JSON only)."),
            OpenApiParameter("page_size", int, description="Reports per page, at most 200 (JSON only)."),
        ],
        responses={
            (200, "application/json"): PublicReportSerializer(many=True),
            (200, "application/geo+json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
        },
        tags=["reports"],
        summary="Reports as open data",
        description=_LIST_DESCRIPTION,
    )
    def get(self, request: Request) -> Response:
        query = PublicReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        export_format = request.accepted_renderer.format
        if export_format in EXPORT_FORMATS:
            records, truncated = export_records(request, query.validated_data)
            response = export_response(records, truncated=truncated, export_format=export_format)
        else:
            # Rows, not model instances: DRF's cursor pagination reads its position from a dictionary too.
            page = self.paginate_queryset(selectors.report_public_rows(**query.validated_data))
            response = self.get_paginated_response(public_report_records(page or [], request=request))
        response["Link"] = LICENSE_LINK
        return cache_public(response, max_age=PUBLIC_MAX_AGE, vary=["Accept", "Accept-Language"])


class PublicReportView(PublicEndpoint, APIView):
    @extend_schema(
        operation_id="reports_read",
        responses=PublicReportDetailSerializer,
        tags=["reports"],
        summary="One report as open data",
        description="With its public timeline. 404 for a report hidden by moderation.",
    )
    def get(self, request: Request, report_id: int) -> Response:
        report = selectors.report_public(report_id=report_id)
        if report is None:
            raise NotFound()
        response = Response(PublicReportDetailSerializer(report, context={"request": request}).data)
        response["Link"] = LICENSE_LINK
        return cache_public(response, max_age=PUBLIC_MAX_AGE)


# --- The live screen in city hall


class StatsView(PublicEndpoint, APIView):
    @extend_schema(
        operation_id="reports_stats",
        responses=ReportStatsSerializer,
        tags=["reports"],
        summary="Figures of the Mängelmelder",
        description=(
            "Counts by status, category and Stadtteil, reports per day (Europe/Berlin) of the last 30 "
            "days, and the median hours to the city's first response and to closing, over the reports it "
            f"closed in the last 90 days (withdrawn ones left out). Computed at most every "
            f"{STATS_CACHE_SECONDS} s."
        ),
    )
    def get(self, request: Request) -> Response:
        # One computation per minute and language, whatever the number of screens polling.
        body = shared_value(
            f"reports:stats:v1:{request_language()}",
            lambda: dict(ReportStatsSerializer(stats.report_stats(now=timezone.now())).data),
            seconds=STATS_CACHE_SECONDS,
        )
        return cache_public(Response(body), max_age=STATS_CACHE_SECONDS)


class ScreenView(PublicEndpoint, CountedWhenBuilt):
    @extend_schema(
        operation_id="reports_screen",
        parameters=[ScreenQuerySerializer],
        responses=ScreenSummarySerializer,
        tags=["reports"],
        summary="What the screens in city hall show",
        description=(
            "Today's, this week's, open and recently resolved reports, open reports by category and age, "
            "the median days to the first response and to resolution over 30 and 90 days, the newest ten "
            "reports, a line of recently resolved ones and the map's points; optionally of one Stadtteil "
            "and some categories. No descriptions, no contact data; thumbnails of public photos only. "
            "Computed at most once per 30-s window (aligned to the clock) per filter and language, "
            "whatever the number of screens; a change shows in the next window. `max-age` says when that "
            "is. Send If-None-Match: an unchanged state answers 304, across windows too. Only requests "
            "that compute count against the rate limit."
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        query = ScreenQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stadtteil: str = query.validated_data.get("stadtteil", "")
        categories: list[Any] = query.validated_data.get("category", [])
        now = timezone.now()
        filters = f"{stadtteil}:{','.join(category.key for category in categories)}"

        def medians() -> screen_figures.ScreenMedians:
            return screen.screen_medians(
                now=now,
                filters=filters,
                compute=lambda: screen_figures.screen_medians(
                    now=now, stadtteil=stadtteil, categories=categories
                ),
            )

        def build() -> dict[str, Any]:
            summary = screen_figures.screen_summary(
                now=now, stadtteil=stadtteil, categories=categories, medians=medians
            )
            return dict(ScreenSummarySerializer(summary).data)

        answer = screen.screen_answer(
            now=now,
            language=request_language(),
            filters=filters,
            known_etag=request.headers.get("If-None-Match", ""),
            build=self.counted(build),
        )
        # Rendered once per state; a screen that has it gets a 304 without the body being read at all.
        response = (
            HttpResponseNotModified()
            if answer.content is None
            else HttpResponse(answer.content, content_type="application/json")
        )
        response["ETag"] = answer.etag
        return cache_public(response, max_age=answer.max_age)

"""The Mängelmelder's app API (filing, "me too", the reporter's own reports) and its public open data."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from casapp.api.caching import cache_private, cache_public
from casapp.api.pagination import CursorPagination
from casapp.api.permissions import IsDevice, PublicEndpoint
from casapp.api.throttling import FixedWindowThrottle
from push.authentication import DeviceAuthentication, DeviceOnly, request_installation
from push.models import Installation
from reports import exports, selectors, services
from reports.api.serializers import (
    CategoryTreeSerializer,
    NearbyQuerySerializer,
    NearbyReportListSerializer,
    PublicReportDetailSerializer,
    PublicReportQuerySerializer,
    PublicReportSerializer,
    ReopenSerializer,
    ReporterReportSerializer,
    ReportStatsSerializer,
    ReportSubmitMultipartSerializer,
    ReportSubmitSerializer,
    SupportSerializer,
    WithdrawSerializer,
    request_language,
)
from reports.models import Category, Report

CATEGORIES_MAX_AGE = 300
PUBLIC_MAX_AGE = 60
STATS_CACHE_SECONDS = 60
CSV_FILENAME = "maengelmelder-castrop-rauxel.csv"
# The licence travels with every open-data response as a registered link relation (RFC 4946), which
# harvesters read without parsing the body. CSV has no place for it inside: RFC 4180 knows no comment
# lines (a "# ..." first line would be read as the header row by every CSV reader), and a licence column
# would repeat one sentence on every row. The attribution sentence itself is in the API documentation.
LICENSE_LINK = f'<{exports.LICENSE_URL}>; rel="license"'


# --- Throttles of filing a report


class ReportDayThrottle(FixedWindowThrottle):
    """Reports filed per installation per day (``THROTTLE_REPORT_DAY``; the day ends at midnight UTC).

    Only filed reports count: a bad GPS fix answered with 400 must not use up the day."""

    scope = "report_day"
    charge_on_success = True

    def allow_request(self, request: Request, view: Any) -> bool:
        # A retry of a report filed already is answered with that report, whatever the count.
        key = request.data.get("idempotency_key") if hasattr(request.data, "get") else None
        if isinstance(key, str) and key:
            filed = Report.objects.filter(installation=request_installation(request), idempotency_key=key)
            if filed.exists():
                return True
        return super().allow_request(request, view)

    def identity(self, request: Request) -> str:
        return f"i{request_installation(request).pk}"


class ReportIpThrottle(FixedWindowThrottle):
    """Reports filed per client IP (``THROTTLE_REPORT_IP``): a script registering installation after
    installation still files from one address."""

    scope = "report_ip"


# --- Renderers of the open-data exports


class GeoJSONRenderer(JSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


class CSVRenderer(BaseRenderer):
    """Renders rows (lists of strings, the header first) as RFC 4180 CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Iterable[Sequence[str]],
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(data)
        return buffer.getvalue().encode("utf-8")


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
works as well. An export is computed at most once a minute per combination of filters.

Licence: {exports.LICENSE_NOTE} Every response links it as `Link: <{exports.LICENSE_URL}>; rel="license"`;
the GeoJSON carries it in its `license` and `attribution` members.
"""


class ReportsView(GenericAPIView[Report]):
    """``GET``: the public open-data list; ``POST``: an app installation files a report."""

    parser_classes = [MultiPartParser, JSONParser]
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
        return _reporter_response(
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
        if export_format in (GeoJSONRenderer.format, CSVRenderer.format):
            records, truncated = self._export_records(query.validated_data)
            response = _export_response(records, truncated=truncated, export_format=export_format)
        else:
            page = self.paginate_queryset(selectors.reports_public(**query.validated_data))
            response = self.get_paginated_response(
                PublicReportSerializer(page, many=True, context=self.get_serializer_context()).data
            )
        response["Link"] = LICENSE_LINK
        return cache_public(response, max_age=PUBLIC_MAX_AGE, vary=["Accept", "Accept-Language"])

    def _export_records(self, filters: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """The public records of an export, least recently changed first, and whether the cap cut them.

        Serializing 10,000 reports costs seconds: the records are kept as long as a client may cache
        the response anyway, once per filter combination, host (the photo URLs are absolute) and language.
        """
        key = _export_cache_key(self.request, filters)
        cached = cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        reports = selectors.reports_public(**filters).order_by("updated_at", "pk")
        rows = list(reports[: exports.EXPORT_LIMIT + 1])
        serialized = PublicReportSerializer(
            rows[: exports.EXPORT_LIMIT], many=True, context=self.get_serializer_context()
        ).data
        result = ([dict(record) for record in serialized], len(rows) > exports.EXPORT_LIMIT)
        cache.set(key, result, PUBLIC_MAX_AGE)
        return result


def _export_cache_key(request: Request, filters: dict[str, Any]) -> str:
    parts = [request.build_absolute_uri("/"), request_language()]
    for name, value in sorted(filters.items()):
        parts.append(f"{name}={value.key if isinstance(value, Category) else value}")
    return "reports:export:v1:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


def _export_response(records: list[dict[str, Any]], *, truncated: bool, export_format: str) -> Response:
    if export_format == GeoJSONRenderer.format:
        response = Response(
            exports.feature_collection(records, truncated=truncated), content_type=GeoJSONRenderer.media_type
        )
    else:
        response = Response(
            list(exports.csv_rows(records)), content_type="text/csv; charset=utf-8; header=present"
        )
        response["Content-Disposition"] = f'attachment; filename="{CSV_FILENAME}"'
    response["X-Export-Truncated"] = "true" if truncated else "false"
    return response


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


# --- "Is it already reported?"


class NearbyView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="reports_nearby",
        parameters=[NearbyQuerySerializer],
        responses=NearbyReportListSerializer,
        tags=["reports"],
        summary="Open reports of a category near a point",
        description=(
            "Before filing: open reports of the category within `radius_m` (REPORT_NEARBY_METERS) of the "
            "point, nearest first, so the user can say 'me too' instead of reporting again."
        ),
    )
    def get(self, request: Request) -> Response:
        query = NearbyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        nearby = selectors.reports_nearby(
            latitude=query.validated_data["lat"],
            longitude=query.validated_data["lon"],
            category=query.validated_data["category"],
            installation=request_installation(request),
        )
        body = NearbyReportListSerializer(
            {"radius_m": settings.REPORT_NEARBY_METERS, "results": nearby}, context={"request": request}
        ).data
        return cache_private(Response(body))


class SupportView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="reports_support",
        request=None,
        responses=SupportSerializer,
        tags=["reports"],
        summary="Me too",
        description=(
            "Counts this installation once as a supporter of an open report; again is a no-op. 409 "
            "(`report_closed`, `own_report`) for a closed report or the installation's own."
        ),
    )
    def post(self, request: Request, report_id: int) -> Response:
        report = selectors.report_to_support(report_id=report_id)
        if report is None:
            raise NotFound()
        report = services.report_support(report=report, installation=request_installation(request))
        return Response(SupportSerializer(report).data)


# --- The reporter's own reports


class MyReportPagination(CursorPagination):
    ordering = ("-created_at", "-pk")  # type: ignore[assignment]


def _reporter_response(
    request: Request, *, installation: Installation, report_id: int, status_code: int = status.HTTP_200_OK
) -> Response:
    report = selectors.report_of_reporter(installation=installation, report_id=report_id)
    if report is None:
        raise NotFound()
    body = ReporterReportSerializer(report, context={"request": request}).data
    return cache_private(Response(body, status=status_code))


class MyReportsView(DeviceOnly, GenericAPIView[Report]):
    pagination_class = MyReportPagination
    filter_backends = []

    @extend_schema(
        operation_id="reports_mine_list",
        responses=ReporterReportSerializer(many=True),
        tags=["reports"],
        summary="The installation's reports",
        description="Newest first, each with its public timeline (status changes and the city's replies).",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(
            selectors.reports_of_reporter(installation=request_installation(request))
        )
        body = ReporterReportSerializer(page, many=True, context=self.get_serializer_context()).data
        return cache_private(self.get_paginated_response(body))


class MyReportView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="reports_mine_read",
        responses=ReporterReportSerializer,
        tags=["reports"],
        summary="One of the installation's reports",
        description="404 for a report of another installation.",
    )
    def get(self, request: Request, report_id: int) -> Response:
        return _reporter_response(request, installation=request_installation(request), report_id=report_id)


class WithdrawView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="reports_withdraw",
        request=WithdrawSerializer,
        responses=ReporterReportSerializer,
        tags=["reports"],
        summary="Withdraw one's report",
        description="Only while it is still received (`eingegangen`); 409 `invalid_transition` after that.",
    )
    def post(self, request: Request, report_id: int) -> Response:
        installation = request_installation(request)
        report = selectors.report_of_reporter(installation=installation, report_id=report_id)
        if report is None:
            raise NotFound()
        withdrawal = WithdrawSerializer(data=request.data)
        withdrawal.is_valid(raise_exception=True)
        services.report_withdraw(report=report, installation=installation, **withdrawal.validated_data)
        return _reporter_response(request, installation=installation, report_id=report_id)


class ReopenView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="reports_reopen",
        request=ReopenSerializer,
        responses=ReporterReportSerializer,
        tags=["reports"],
        summary="Still broken: reopen one's done report",
        description=(
            "Within REPORT_REOPEN_DAYS after it was done; it goes back to review with the message on its "
            "timeline. 409 `invalid_transition` otherwise."
        ),
    )
    def post(self, request: Request, report_id: int) -> Response:
        installation = request_installation(request)
        report = selectors.report_of_reporter(installation=installation, report_id=report_id)
        if report is None:
            raise NotFound()
        reopening = ReopenSerializer(data=request.data)
        reopening.is_valid(raise_exception=True)
        services.report_reopen(report=report, installation=installation, **reopening.validated_data)
        return _reporter_response(request, installation=installation, report_id=report_id)


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
        key = f"reports:stats:v1:{request_language()}"
        body = cache.get(key)
        if body is None:
            body = dict(ReportStatsSerializer(selectors.report_stats(now=timezone.now())).data)
            cache.set(key, body, STATS_CACHE_SECONDS)
        return cache_public(Response(body), max_age=STATS_CACHE_SECONDS)

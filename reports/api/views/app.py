"""The app installation's side: the limits of filing, "is it already reported?", "me too", and the
reporter's own reports (withdraw, reopen)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.caching import cache_private
from casapp.api.pagination import CursorPagination
from casapp.api.throttling import FixedWindowThrottle
from push.authentication import DeviceOnly, request_installation
from push.models import Installation
from reports import selectors, services
from reports.api.serializers import (
    NearbyQuerySerializer,
    NearbyReportListSerializer,
    ReopenSerializer,
    ReporterReportSerializer,
    SupportSerializer,
    WithdrawSerializer,
)
from reports.models import Report

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


# --- "Is it already reported?"


class NearbyView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="reports_nearby",
        parameters=[
            NearbyQuerySerializer,
            OpenApiParameter("lat", float, deprecated=True, description="Deprecated: send `latitude`."),
            OpenApiParameter("lon", float, deprecated=True, description="Deprecated: send `longitude`."),
        ],
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
            latitude=query.validated_data["latitude"],
            longitude=query.validated_data["longitude"],
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


def reporter_response(
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
        return reporter_response(request, installation=request_installation(request), report_id=report_id)


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
        return reporter_response(request, installation=installation, report_id=report_id)


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
        return reporter_response(request, installation=installation, report_id=report_id)

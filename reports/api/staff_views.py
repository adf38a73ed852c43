"""The staff triage API of the Mängelmelder: the queue, a report with everything, and the workflow.

For Triage staff (and Administration). Every report is looked up among ``reports_for_staff``: a report of
another department is a 404, exactly like one that does not exist. Each write is one call of
``reports.services``, whose domain errors (400, 409) become the API's error shape.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.pagination import CursorPagination
from casapp.api.permissions import IsStaffInGroup
from casapp.authentication import STAFF_AUTHENTICATION
from reports import services
from reports.api.staff_serializers import (
    StaffReportAssignSerializer,
    StaffReportDetailSerializer,
    StaffReportMergeSerializer,
    StaffReportModerateSerializer,
    StaffReportNoteSerializer,
    StaffReportQueueQuerySerializer,
    StaffReportReplySerializer,
    StaffReportRerouteResultSerializer,
    StaffReportRerouteSerializer,
    StaffReportSerializer,
    StaffReportTransitionSerializer,
)
from reports.models import Report
from reports.staff_selectors import (
    DEFAULT_QUEUE_ORDERING,
    QUEUE_ORDERINGS,
    reports_for_staff,
    reports_for_staff_detail,
    reports_staff_queue,
)

TAGS = ["reports-staff"]
RETURNS_DETAIL = "Returns the report as `GET` shows it afterwards."


class StaffReportQueuePagination(CursorPagination):
    """Cursor pages in the order the client chose (``sort``), set per request by the view."""

    queue_ordering: tuple[str, ...] = QUEUE_ORDERINGS[DEFAULT_QUEUE_ORDERING]

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: APIView) -> tuple[str, ...]:
        return self.queue_ordering


def _actor(request: Request) -> User:
    return cast("User", request.user)  # IsStaffInGroup admitted only authenticated staff


class StaffReportViewSet(viewsets.GenericViewSet[Report]):
    authentication_classes = STAFF_AUTHENTICATION
    permission_classes = [IsStaffInGroup]
    staff_groups = ("Triage",)
    serializer_class = StaffReportSerializer
    pagination_class = StaffReportQueuePagination
    filter_backends: list[Any] = []  # the queue's filters are validated by its query serializer

    def get_queryset(self) -> QuerySet[Report]:
        return reports_for_staff(self.request.user)

    def _report(self) -> Report:
        """The report of the URL, if the caller may see it; 404 otherwise, as if it did not exist."""
        return get_object_or_404(reports_for_staff(self.request.user), pk=self.kwargs["pk"])

    def _input_context(self) -> dict[str, Any]:
        # Report ids in a body (duplicate_of, into) are resolved among the caller's reports too.
        return {"request": self.request, "reports": reports_for_staff(self.request.user)}

    def _detail(self, report: Report) -> Response:
        current = get_object_or_404(reports_for_staff_detail(self.request.user), pk=report.pk)
        return Response(StaffReportDetailSerializer(current, context={"request": self.request}).data)

    @extend_schema(
        operation_id="staff_reports_list",
        parameters=[StaffReportQueueQuerySerializer],
        responses=StaffReportSerializer(many=True),
        tags=TAGS,
        summary="The triage queue",
        description=(
            "The reports of the caller's departments (all for Administration), newest first unless "
            "`sort` says otherwise, cursor-paginated. Every filter given narrows the queue."
        ),
    )
    def list(self, request: Request) -> Response:
        query = StaffReportQueueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        sort = filters.pop("sort")
        reports = reports_staff_queue(
            user=request.user,
            statuses=filters.get("status"),
            category_key=filters.get("category"),
            department_key=filters.get("department"),
            stadtteil=filters.get("stadtteil"),
            older_than_days=filters.get("older_than_days"),
            newer_than_days=filters.get("newer_than_days"),
            assigned=filters.get("assigned"),
            has_photo=filters.get("has_photo"),
            hidden=filters.get("hidden"),
            search=filters.get("q", ""),
        )
        paginator = cast("StaffReportQueuePagination", self.paginator)
        paginator.queue_ordering = QUEUE_ORDERINGS[sort]
        page = paginator.paginate_queryset(reports, request, view=self)
        data = StaffReportSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="staff_reports_read",
        responses=StaffReportDetailSerializer,
        tags=TAGS,
        summary="A report with everything",
        description=(
            "Contact data, internal notes, the whole history with its actors, photos (removed ones "
            "flagged), the statuses it can move to. The reporter's installation only as `has_installation`."
        ),
    )
    def retrieve(self, request: Request, pk: int) -> Response:
        return self._detail(self._report())

    @extend_schema(
        operation_id="staff_reports_transition",
        request=StaffReportTransitionSerializer,
        responses=StaffReportDetailSerializer,
        tags=TAGS,
        summary="Change the status",
        description=(
            "Only the workflow's steps (`allowed_transitions`), else 409 `invalid_transition`. Rejecting "
            "needs a `public_message` (the reason), `nicht_zustaendig` a `forwarded_to`, `duplikat` a "
            "`duplicate_of` (the report is merged into it). The reporter's phone is told. " + RETURNS_DETAIL
        ),
    )
    def transition(self, request: Request, pk: int) -> Response:
        report = self._report()
        body = StaffReportTransitionSerializer(data=request.data, context=self._input_context())
        body.is_valid(raise_exception=True)
        report = services.report_transition(report=report, actor=_actor(request), **body.validated_data)
        return self._detail(report)

    @extend_schema(
        operation_id="staff_reports_assign",
        request=StaffReportAssignSerializer,
        responses=StaffReportDetailSerializer,
        tags=TAGS,
        summary="Assign to a colleague, or unassign",
        description=(
            "The assignee must be staff who may work on the report's department (a Triage member of it, "
            "or Administration), else 400 `invalid_assignee`. " + RETURNS_DETAIL
        ),
    )
    def assign(self, request: Request, pk: int) -> Response:
        report = self._report()
        body = StaffReportAssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = services.report_assign(
            report=report, actor=_actor(request), assignee=body.validated_data["assignee"]
        )
        return self._detail(report)

    @extend_schema(
        operation_id="staff_reports_reply",
        request=StaffReportReplySerializer,
        responses=StaffReportDetailSerializer,
        tags=TAGS,
        summary="Reply publicly",
        description="A public message without a status change; pushed to the reporter. " + RETURNS_DETAIL,
    )
    def reply(self, request: Request, pk: int) -> Response:
        report = self._report()
        body = StaffReportReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = services.report_reply(
            report=report, actor=_actor(request), message=body.validated_data["message"]
        )
        return self._detail(report)

    @extend_schema(
        operation_id="staff_reports_note",
        request=StaffReportNoteSerializer,
        responses=StaffReportDetailSerializer,
        tags=TAGS,
        summary="Add an internal note",
        description="For staff only; never shown to the reporter or the public. " + RETURNS_DETAIL,
    )
    def notes(self, request: Request, pk: int) -> Response:
        report = self._report()
        body = StaffReportNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.report_note(report=report, actor=_actor(request), note=body.validated_data["note"])
        return self._detail(report)

    @extend_schema(
        operation_id="staff_reports_merge",
        request=StaffReportMergeSerializer,
        responses=StaffReportDetailSerializer,
        tags=TAGS,
        summary="Merge into the original",
        description=(
            "Marks the report a duplicate of `into` (same department, itself no duplicate, else 409 "
            "`invalid_merge`); its reporter and supporters become supporters of the original. "
            + RETURNS_DETAIL
        ),
    )
    def merge(self, request: Request, pk: int) -> Response:
        report = self._report()
        body = StaffReportMergeSerializer(data=request.data, context=self._input_context())
        body.is_valid(raise_exception=True)
        report = services.report_merge(report=report, actor=_actor(request), **body.validated_data)
        return self._detail(report)

    @extend_schema(
        operation_id="staff_reports_moderate",
        request=StaffReportModerateSerializer,
        responses=StaffReportDetailSerializer,
        tags=TAGS,
        summary="Hide, redact, remove photos",
        description=(
            "Hides an abusive report from the public (or shows it again), replaces its description, "
            "removes photos from public view, replaces public messages of its timeline "
            "(`redact_messages`; anything but a public message of this report is 400 `invalid_event`, "
            "and nothing changes). Recorded as an internal event. " + RETURNS_DETAIL
        ),
    )
    def moderate(self, request: Request, pk: int) -> Response:
        report = self._report()
        body = StaffReportModerateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = services.report_moderate(report=report, actor=_actor(request), **body.validated_data)
        return self._detail(report)

    @extend_schema(
        operation_id="staff_reports_reroute",
        request=StaffReportRerouteSerializer,
        responses=StaffReportRerouteResultSerializer,
        tags=TAGS,
        summary="Forward to another category (and department)",
        description=(
            "Moves a misrouted open report to another leaf category, which may belong to another department "
            "(that is the point: any category, not only the caller's). The `reason` stays internal; the "
            'public timeline says "An <Fachbereich> weitergeleitet."; the answers to the old category\'s '
            "questions stay in the history. A closed report is 409 `report_closed`; the same category 400 "
            "`same_category`; a group or inactive category 400 `invalid_category`. The caller may lose "
            "access: `visible` says so."
        ),
    )
    def reroute(self, request: Request, pk: int) -> Response:
        report = self._report()
        body = StaffReportRerouteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = services.report_reroute(report=report, actor=_actor(request), **body.validated_data)
        result = {
            "id": report.pk,
            "category": report.category.key,
            "department": report.category.department.name if report.category.department else "",
            "visible": reports_for_staff(request.user).filter(pk=report.pk).exists(),
        }
        return Response(StaffReportRerouteResultSerializer(result).data)

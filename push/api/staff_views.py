"""The staff API for outage alerts, campaigns and news: drafts, four-eyes approval, sending, statistics.

For the communication team's tools; the Django admin offers the same workflow. Each write is one call of
``push.services``, whose domain errors become the API's error shape.
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.permissions import IsStaffInGroup
from casapp.authentication import STAFF_AUTHENTICATION
from push import services
from push.api.staff_serializers import (
    AudienceEstimateSerializer,
    NotificationChangeSerializer,
    NotificationDetailSerializer,
    NotificationDraftSerializer,
    NotificationPreviewSerializer,
    NotificationSerializer,
    NotificationStatisticsSerializer,
    PairingCodeSerializer,
    PreviewQuerySerializer,
    ReasonSerializer,
    TestSendSerializer,
    kind_choices,
)
from push.fanout.messages import outgoing_message
from push.models import Delivery, Installation, Notification, NotificationStatus, Priority
from push.selectors import notification_audience, notification_statistics, notifications_for_staff
from push.transports import OutgoingMessage

TAGS = ["push-staff"]


class StaffNotificationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=NotificationStatus.choices)
    kind = django_filters.ChoiceFilter(choices=kind_choices())
    needs_review = django_filters.BooleanFilter()

    class Meta:
        model = Notification
        fields = ["status", "kind", "needs_review"]


def _actor(request: Request) -> User:
    return cast("User", request.user)  # IsStaffInGroup admitted only authenticated staff


def _as_seen_on_a_phone(notification: Notification, language: str) -> OutgoingMessage:
    """What the fan-out engine hands FCM for a phone in ``language``, built by the engine itself."""
    phone = Installation(locale=language)
    now = timezone.now()
    at = max(now, notification.send_at) if notification.send_at else now
    return outgoing_message(notification, Delivery(notification=notification, installation=phone), now=at)


class StaffNotificationViewSet(viewsets.GenericViewSet[Notification]):
    authentication_classes = STAFF_AUTHENTICATION
    permission_classes = [IsStaffInGroup]
    staff_groups = ("Kommunikation",)
    serializer_class = NotificationSerializer
    filterset_class = StaffNotificationFilter

    def get_queryset(self) -> QuerySet[Notification]:
        return notifications_for_staff(with_audit_log=self.action == "retrieve")

    def get_object(self) -> Notification:
        # The list's filters narrow the list only; a detail URL means its object, whatever the query says.
        notification = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, notification)
        return notification

    def _detail(self, notification: Notification, *, status_code: int = status.HTTP_200_OK) -> Response:
        current = notifications_for_staff(with_audit_log=True).get(pk=notification.pk)
        return Response(NotificationDetailSerializer(current).data, status=status_code)

    @extend_schema(
        operation_id="push_notifications_list",
        responses=NotificationSerializer(many=True),
        tags=TAGS,
        summary="List outage alerts, campaigns and news",
        description="Newest first, cursor-paginated. Personal notifications and test sends are not listed.",
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    @extend_schema(
        operation_id="push_notifications_create",
        request=NotificationDraftSerializer,
        responses={201: NotificationDetailSerializer},
        tags=TAGS,
        summary="Write a draft",
        description=(
            "German text is required; other languages are optional, phones in them get German. An update "
            "of an outage names its first alert in `thread` and replaces it on lock screens."
        ),
    )
    def create(self, request: Request) -> Response:
        serializer = NotificationDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notification = services.notification_create(author=_actor(request), **serializer.validated_data)
        return self._detail(notification, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="push_notifications_read",
        responses=NotificationDetailSerializer,
        tags=TAGS,
        description="With the send's statistics and the audit log.",
    )
    def retrieve(self, request: Request, pk: int) -> Response:
        return Response(NotificationDetailSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="push_notifications_update",
        request=NotificationChangeSerializer,
        responses=NotificationDetailSerializer,
        tags=TAGS,
        description="Drafts only. A change to a notification awaiting approval returns it to draft.",
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        notification = self.get_object()
        serializer = NotificationChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notification = services.notification_update(
            notification=notification, actor=_actor(request), **serializer.validated_data
        )
        return self._detail(notification)

    @extend_schema(
        operation_id="push_notifications_request_approval",
        request=None,
        responses=NotificationDetailSerializer,
        tags=TAGS,
        description="Hands a draft to a colleague in Kommunikation for approval.",
    )
    def request_approval(self, request: Request, pk: int) -> Response:
        notification = services.notification_request_approval(
            notification=self.get_object(), actor=_actor(request)
        )
        return self._detail(notification)

    @extend_schema(
        operation_id="push_notifications_approve",
        request=None,
        responses=NotificationDetailSerializer,
        tags=TAGS,
        description=(
            "Four-eyes: only a member of Kommunikation other than the author approves (403 `four_eyes`). "
            "Sends at once, or at `send_at`."
        ),
    )
    def approve(self, request: Request, pk: int) -> Response:
        notification = services.notification_approve(notification=self.get_object(), approver=_actor(request))
        return self._detail(notification)

    @extend_schema(
        operation_id="push_notifications_reject",
        request=ReasonSerializer,
        responses=NotificationDetailSerializer,
        tags=TAGS,
        description=(
            "The second pair of eyes says no, with a reason: the notification is a draft again and the "
            "author is told by e-mail. The same people as for approving (403 `four_eyes` for the author)."
        ),
    )
    def reject(self, request: Request, pk: int) -> Response:
        notification = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notification = services.notification_reject(
            notification=notification, reviewer=_actor(request), reason=body.validated_data["reason"]
        )
        return self._detail(notification)

    @extend_schema(
        operation_id="push_notifications_cancel",
        request=None,
        responses=NotificationDetailSerializer,
        tags=TAGS,
        description="Possible until sending starts; afterwards 409.",
    )
    def cancel(self, request: Request, pk: int) -> Response:
        notification = services.notification_cancel(notification=self.get_object(), actor=_actor(request))
        return self._detail(notification)

    @extend_schema(
        operation_id="push_notifications_send_test",
        request=None,
        responses={202: TestSendSerializer},
        tags=TAGS,
        description="Sends a copy titled [TEST] to your own paired phones, at any stage.",
    )
    def send_test(self, request: Request, pk: int) -> Response:
        test = services.notification_send_test(notification=self.get_object(), actor=_actor(request))
        return Response(TestSendSerializer(test).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="push_notifications_send_emergency",
        request=ReasonSerializer,
        responses=NotificationDetailSerializer,
        tags=TAGS,
        description=(
            "An outage alert sent now without approval, by holders of the emergency permission, with a "
            "required reason (kept in the audit log and the statistics). It is flagged for review by a "
            "colleague."
        ),
    )
    def send_emergency(self, request: Request, pk: int) -> Response:
        notification = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notification = services.notification_send_emergency(
            notification=notification, actor=_actor(request), reason=body.validated_data["reason"]
        )
        return self._detail(notification)

    @extend_schema(
        operation_id="push_notifications_review",
        request=None,
        responses=NotificationDetailSerializer,
        tags=TAGS,
        description="Closes the review of an emergency send; by someone other than its sender.",
    )
    def review(self, request: Request, pk: int) -> Response:
        notification = services.notification_review(notification=self.get_object(), reviewer=_actor(request))
        return self._detail(notification)

    @extend_schema(
        operation_id="push_notifications_preview",
        parameters=[PreviewQuerySerializer],
        responses=NotificationPreviewSerializer,
        tags=TAGS,
        description="What a phone in the given language receives.",
    )
    def preview(self, request: Request, pk: int) -> Response:
        notification = self.get_object()
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        language = query.validated_data["language"]
        message = _as_seen_on_a_phone(notification, language)
        preview: dict[str, Any] = {
            "language": language,
            "title": message.title,
            "body": message.body,
            "image_url": message.image_url,
            "collapse_key": message.collapse_key,
            "data": message.data,
            "priority": Priority.HIGH if message.high_priority else Priority.NORMAL,
            "ttl_seconds": message.ttl_seconds,
            "channel": message.channel,
        }
        return Response(NotificationPreviewSerializer(preview).data)

    @extend_schema(
        operation_id="push_notifications_audience",
        responses=AudienceEstimateSerializer,
        examples=[
            OpenApiExample(
                "An outage alert to everyone subscribed to Störungen",
                value={
                    "total": 3120,
                    "by_platform": {"android": 1890, "ios": 1230, "web": 0},
                    "by_language": {"de": 2790, "en": 330},
                    "german_fallback": 140,
                    "active_days": 30,
                    "minimum": 1,
                    "below_minimum": False,
                },
                response_only=True,
            )
        ],
        tags=TAGS,
        summary="How many installations it would reach now",
        description=(
            "The audience estimate: installations the notification would reach if it were sent now, by "
            "platform and by the language of the text they get. Counted with the query the send itself "
            "uses, so estimate and send agree. Submitting, approving or sending one that reaches 0 "
            "installations is refused (`400 empty_audience`)."
        ),
    )
    def audience(self, request: Request, pk: int) -> Response:
        estimate = notification_audience(self.get_object())
        return Response(AudienceEstimateSerializer(estimate).data)

    @extend_schema(
        operation_id="push_notifications_statistics",
        responses=NotificationStatisticsSerializer,
        tags=TAGS,
        description="How the send went; live while it is sending.",
    )
    def statistics(self, request: Request, pk: int) -> Response:
        statistics = notification_statistics(self.get_object())
        return Response(NotificationStatisticsSerializer(statistics).data)


class StaffPairingCodeView(APIView):
    authentication_classes = STAFF_AUTHENTICATION
    permission_classes = [IsStaffInGroup]
    staff_groups = ("Kommunikation",)

    @extend_schema(
        operation_id="push_pairing_codes_create",
        request=None,
        responses={201: PairingCodeSerializer},
        tags=TAGS,
        summary="A one-time code to pair your own phone as a test device",
        description=(
            "Shown once, valid 10 minutes. The app on your phone sends it to `POST /api/v1/devices/me/pair`; "
            "the phone then receives your test sends. At most 5 test devices per person."
        ),
    )
    def post(self, request: Request) -> Response:
        code, expires_at = services.pairing_code_issue(user=_actor(request))
        body = PairingCodeSerializer({"code": code, "expires_at": expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)

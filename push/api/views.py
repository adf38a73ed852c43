"""The device API (an installation registers, changes itself, its preferences and inbox) and the public
notice board with the catalogue of what can be subscribed to."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.caching import cache_private, cache_public, request_language
from casapp.api.pagination import CursorPagination
from casapp.api.permissions import PublicEndpoint
from casapp.api.throttling import ClientRateThrottle, PerIpScopedThrottle
from push import selectors, services
from push.api.serializers import (
    CatalogueSerializer,
    InboxItemSerializer,
    InstallationCredentialsSerializer,
    InstallationRegisterSerializer,
    InstallationSerializer,
    InstallationUpdateSerializer,
    NoticeListSerializer,
    PairedDeviceSerializer,
    PairingSerializer,
    PreferencesSerializer,
    PreferencesUpdateSerializer,
    SecretSerializer,
)
from push.authentication import DeviceOnly, request_installation
from push.models import Notification

# Built once: a serializer's fields are made per instance, which cost more than the rest of the answer.
# Only ``to_representation`` is used, which keeps no state between calls.
_INSTALLATION = InstallationSerializer()


class DeviceRegisterView(APIView):
    authentication_classes = []  # a stale header from a previous install must not block registering
    permission_classes = [AllowAny]
    throttle_classes = [PerIpScopedThrottle]
    throttle_scope = "device_register"

    @extend_schema(
        operation_id="devices_register",
        request=InstallationRegisterSerializer,
        responses={201: InstallationCredentialsSerializer},
        tags=["devices"],
        summary="Register an app installation",
        description=(
            "Returns the installation id and its secret, shown only here. A push token already held by "
            "another installation moves to this one (the phone's app proved it has it); nothing else of "
            "the old installation becomes visible."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = InstallationRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        installation, secret = services.installation_register(**serializer.validated_data)
        body = {**_INSTALLATION.to_representation(installation), "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class DeviceMeView(DeviceOnly, APIView):
    @extend_schema(operation_id="devices_me_read", responses=InstallationSerializer, tags=["devices"])
    def get(self, request: Request) -> Response:
        return Response(_INSTALLATION.to_representation(request_installation(request)))

    @extend_schema(
        operation_id="devices_me_update",
        request=InstallationUpdateSerializer,
        responses=InstallationSerializer,
        tags=["devices"],
        description="Change language, app version or push token. `push_token: null` switches push off.",
    )
    def patch(self, request: Request) -> Response:
        serializer = InstallationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        installation = services.installation_update(
            installation=request_installation(request), **serializer.validated_data
        )
        return Response(_INSTALLATION.to_representation(installation))

    @extend_schema(
        operation_id="devices_me_erase",
        responses={204: None},
        tags=["devices"],
        description="Erases the installation and everything linked to it. The secret stops working.",
    )
    def delete(self, request: Request) -> Response:
        services.installation_erase(installation=request_installation(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceSecretView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="devices_me_rotate_secret",
        request=None,
        responses=SecretSerializer,
        tags=["devices"],
        description="Issues a new secret; the current one stops working at once.",
    )
    def post(self, request: Request) -> Response:
        secret = services.installation_rotate_secret(installation=request_installation(request))
        return Response({"secret": secret})


class DevicePairView(DeviceOnly, APIView):
    # Every attempt counts against the caller's address: codes cannot be guessed at the device rate.
    throttle_classes = [ClientRateThrottle, PerIpScopedThrottle]
    throttle_scope = "device_pair"

    @extend_schema(
        operation_id="devices_me_pair",
        request=PairingSerializer,
        responses={201: PairedDeviceSerializer},
        tags=["devices"],
        summary="Pair this installation as a staff member's test device",
        description=(
            "Sends the one-time code the staff workspace showed (valid 10 minutes, usable once). The "
            "installation then receives that staff member's test sends. Unknown, used or expired codes: "
            "400 `invalid_pairing_code`; a staff member pairs at most 5 phones: 409 `test_device_limit`."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = PairingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = services.staff_device_pair(
            installation=request_installation(request), **serializer.validated_data
        )
        return Response(PairedDeviceSerializer(device).data, status=status.HTTP_201_CREATED)


# --- What an installation receives: catalogue, preferences, notices, inbox


class PushCatalogueView(PublicEndpoint, APIView):
    @extend_schema(
        operation_id="push_catalogue",
        responses=CatalogueSerializer,
        tags=["notices"],
        summary="What the app can subscribe to and mute",
        description=(
            "The kinds of notification, the topics of broadcasts and the categories of personal "
            "notifications, named in the language of Accept-Language (German where no translation)."
        ),
    )
    def get(self, request: Request) -> Response:
        catalogue = selectors.push_catalogue(language=request_language())
        return cache_public(Response(CatalogueSerializer(catalogue).data), max_age=300)


class NoticesView(PublicEndpoint, APIView):
    """The public notice board: one bounded list, no pagination.

    Notices expire and outage threads fold into one entry, so the current list is short; the newest
    ``NOTICES_LIMIT`` are plenty. One unpaginated response per language is what a shared cache and the
    ETag serve best: every app polls the same URL. Older items live in each installation's inbox, which
    is cursor-paginated.
    """

    @extend_schema(
        operation_id="notices_list",
        responses=NoticeListSerializer,
        tags=["notices"],
        summary="Current outages, campaigns and news",
        description=(
            f"At most {selectors.NOTICES_LIMIT} entries, ongoing outages first, then newest first. An "
            "outage thread is one entry showing its latest post, with all posts in `timeline`. Text in "
            "the language of Accept-Language (German fallback). Send If-None-Match for a 304."
        ),
    )
    def get(self, request: Request) -> Response:
        notices = selectors.notices_current(now=timezone.now(), language=request_language())
        return cache_public(Response(NoticeListSerializer({"results": notices}).data), max_age=30)


class DevicePreferencesView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="devices_me_preferences_read", responses=PreferencesSerializer, tags=["devices"]
    )
    def get(self, request: Request) -> Response:
        preferences = selectors.installation_preferences(installation=request_installation(request))
        return Response(PreferencesSerializer(preferences).data)

    @extend_schema(
        operation_id="devices_me_preferences_update",
        request=PreferencesUpdateSerializer,
        responses=PreferencesSerializer,
        tags=["devices"],
        description=(
            "Changes what is given. `topics` and `muted_categories` replace the whole set with keys from "
            "`GET /push/catalogue`; an unknown key changes nothing and answers 400 naming the field."
        ),
    )
    def patch(self, request: Request) -> Response:
        serializer = PreferencesUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preferences = services.preferences_update(
            installation=request_installation(request), **serializer.validated_data
        )
        return Response(PreferencesSerializer(preferences).data)


class InboxPagination(CursorPagination):
    # Newest first; the primary key orders notifications that started in the same instant. (DRF takes a
    # tuple here; its stubs say str.)
    ordering = ("-published_at", "-pk")  # type: ignore[assignment]


class DeviceInboxView(DeviceOnly, GenericAPIView[Notification]):
    pagination_class = InboxPagination
    filter_backends = []

    @extend_schema(
        operation_id="devices_me_inbox",
        responses=InboxItemSerializer(many=True),
        tags=["devices"],
        summary="The installation's inbox",
        description=(
            "The current notices and the installation's own personal notifications (also those it got "
            "without push), newest first. Text in the installation's language (`locale`), as its pushes."
        ),
    )
    def get(self, request: Request) -> Response:
        installation = request_installation(request)
        now = timezone.now()
        page = self.paginate_queryset(selectors.inbox_queryset(installation=installation, now=now))
        items = selectors.inbox_items(
            installation=installation, notifications=page or [], now=now, language=installation.locale
        )
        return cache_private(self.get_paginated_response(InboxItemSerializer(items, many=True).data))


class DeviceInboxItemReadView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="devices_me_inbox_item_read",
        parameters=[
            OpenApiParameter(
                "item_id",
                str,
                OpenApiParameter.PATH,
                description="An inbox item's id, or `n-<notification_id>` from a push's data.",
            )
        ],
        request=None,
        responses={204: None},
        tags=["devices"],
        description="Marks one item read (counted as opened). Idempotent.",
    )
    def post(self, request: Request, item_id: str) -> Response:
        notification_id = selectors.notification_id_of_item(item_id)
        if notification_id is None:
            raise NotFound()
        services.inbox_mark_read(installation=request_installation(request), notification_id=notification_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceInboxReadAllView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="devices_me_inbox_read_all",
        request=None,
        responses={204: None},
        tags=["devices"],
        description="Marks every item now in the inbox read.",
    )
    def post(self, request: Request) -> Response:
        services.inbox_mark_all_read(installation=request_installation(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

"""The device API: an app installation registers, reads and changes itself, rotates its secret, leaves."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.permissions import IsDevice
from casapp.api.throttling import PerIpScopedThrottle
from push import services
from push.api.serializers import (
    InstallationCredentialsSerializer,
    InstallationRegisterSerializer,
    InstallationSerializer,
    InstallationUpdateSerializer,
    SecretSerializer,
)
from push.authentication import request_installation


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
        body = {**InstallationSerializer(installation).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class DeviceMeView(APIView):
    permission_classes = [IsDevice]

    @extend_schema(operation_id="devices_me_read", responses=InstallationSerializer, tags=["devices"])
    def get(self, request: Request) -> Response:
        return Response(InstallationSerializer(request_installation(request)).data)

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
        return Response(InstallationSerializer(installation).data)

    @extend_schema(
        operation_id="devices_me_erase",
        responses={204: None},
        tags=["devices"],
        description="Erases the installation and everything linked to it. The secret stops working.",
    )
    def delete(self, request: Request) -> Response:
        services.installation_erase(installation=request_installation(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceSecretView(APIView):
    permission_classes = [IsDevice]

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

"""``GET /api/v1/staff/me``: who a staff session or token belongs to, and its roles."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.permissions import IsStaffInGroup
from casapp.authentication import STAFF_AUTHENTICATION
from casapp.roles import ROLES


class StaffMeSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    full_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES))


class StaffMeView(APIView):
    authentication_classes = STAFF_AUTHENTICATION
    permission_classes = [IsStaffInGroup]
    staff_groups = ROLES

    @extend_schema(operation_id="staff_me", responses=StaffMeSerializer, tags=["staff"])
    def get(self, request: Request) -> Response:
        user: Any = request.user
        roles = sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        return Response(
            StaffMeSerializer(
                {"username": user.get_username(), "full_name": user.get_full_name(), "roles": roles}
            ).data
        )

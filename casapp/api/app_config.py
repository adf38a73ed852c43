"""``GET /api/v1/app/config``: what the app asks first on every start."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from packaging.version import Version
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.caching import cache_public, request_language
from casapp.api.fields import AppVersionField
from casapp.api.permissions import PublicEndpoint
from casapp.appconfig import app_config_for
from casapp.models import Platform


class AppConfigQuerySerializer(serializers.Serializer[Any]):
    platform = serializers.ChoiceField(choices=Platform.choices)
    version = AppVersionField(help_text=_("The app's own version, e.g. 2.4.1."))


class MaintenanceSerializer(serializers.Serializer[Any]):
    title = serializers.CharField()
    text = serializers.CharField()
    severity = serializers.ChoiceField(choices=["info", "warning", "outage"])
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class ModulesSerializer(serializers.Serializer[Any]):
    reports = serializers.BooleanField(help_text="Mängelmelder")
    waste_calendar = serializers.BooleanField(help_text="Abfallkalender")
    push = serializers.BooleanField()


class LinksSerializer(serializers.Serializer[Any]):
    privacy_policy = serializers.URLField()
    imprint = serializers.URLField()
    accessibility = serializers.URLField()


class AppConfigSerializer(serializers.Serializer[Any]):
    platform = serializers.CharField()
    version = serializers.CharField()
    min_supported_version = serializers.CharField(allow_null=True)
    latest_version = serializers.CharField(allow_null=True)
    store_url = serializers.URLField(allow_null=True)
    force_update = serializers.BooleanField(
        help_text="The app is too old to be served: show only the store link."
    )
    update_available = serializers.BooleanField()
    modules = ModulesSerializer()
    maintenance = MaintenanceSerializer(
        allow_null=True, help_text="A banner to show now, in the request's language."
    )
    links = LinksSerializer()


class AppConfigView(PublicEndpoint, APIView):
    @extend_schema(
        operation_id="app_config",
        parameters=[AppConfigQuerySerializer],
        responses=AppConfigSerializer,
        tags=["app"],
        summary="Start-up configuration of the app",
    )
    def get(self, request: Request) -> Response:
        query = AppConfigQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        config = app_config_for(
            platform=query.validated_data["platform"],
            version=Version(query.validated_data["version"]),  # AppVersionField checked it parses
            language=request_language(),
        )
        # The service builds exactly the documented shape; running it through the serializer again
        # doubled the cost of the most frequent call of the app.
        response = Response(config)
        cache_public(response, max_age=settings.APP_CONFIG_CACHE_SECONDS)
        return response

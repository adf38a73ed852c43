"""``GET /api/v1/app/config``: what the app asks first on every start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
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
from casapp.api.throttling import LocalTally
from casapp.appconfig import answer_valid_seconds, app_config_for, app_config_snapshot
from casapp.caching import LocalMemo
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


_full_view = AppConfigView.as_view()


@dataclass(frozen=True, slots=True)
class _Answer:
    """A 200 of the full view as it left the view: the rendered body and the headers the view set."""

    content: bytes
    headers: tuple[tuple[str, str], ...]


# Answers by (query string as sent, Accept as sent, negotiated language); each for the snapshot it was made
# from and, with a banner ahead, only until that banner starts or ends. Bounded: the query is the client's.
_answers: LocalMemo[tuple[str, str, str], _Answer] = LocalMemo("app-config answers", entries=256)
# The anonymous limit of the full view, counted here and added to its Redis counters in batches.
_anon_tally = LocalTally(scope="anon")


def app_config_view(request: HttpRequest) -> HttpResponse:
    """``app/config``: every app start asks it with the same few queries.

    A GET that the full view answered before with 200, for the same query string, Accept header and
    language and from the same configuration snapshot, is answered here with those bytes and headers,
    before DRF: no request wrapper, negotiation, query serializer or round trip to Redis. Such an answer
    was validated when the full view made it (only 200s are kept), so it needs no validation of its own.
    The anonymous rate limit still counts it (``LocalTally``: in this process, added to Redis every
    second); a client at its limit, any other method and anything not kept take the full view.
    """
    if request.method != "GET":
        response: HttpResponse = _full_view(request)
        return response
    key = (request.META.get("QUERY_STRING", ""), request.META.get("HTTP_ACCEPT", ""), request_language())
    snapshot = app_config_snapshot()
    kept = _answers.get(key, snapshot.fingerprint)
    if kept is not None and _anon_tally.admit(request):
        answer = HttpResponse(kept.content)
        for header, value in kept.headers:
            answer[header] = value
        return answer
    now = timezone.now()
    response = _full_view(request)
    if response.status_code == 200 and kept is None:
        response.render()  # DRF's Response renders lazily
        _answers.put(
            key,
            _Answer(content=response.content, headers=tuple(response.items())),
            snapshot.fingerprint,
            seconds=answer_valid_seconds(snapshot, now),
        )
    return response


# What DRF, drf-spectacular and the CSRF middleware read off a view function (cls, initkwargs, csrf_exempt):
# the schema documents the full view.
app_config_view.__dict__.update(_full_view.__dict__)

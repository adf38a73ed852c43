"""The Abfallkalender API: public lookups, collections and the ICS feed; the installations' reminders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.utils.http import parse_etags, parse_http_date_safe
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.api.caching import CountedWhenBuilt, cache_private, cache_public, request_language
from casapp.api.permissions import PublicEndpoint
from push.authentication import DeviceOnly, request_installation
from waste_calendar import lookup, reminders
from waste_calendar.api.serializers import (
    MAX_TYPES_PARAMETER,
    CollectionListSerializer,
    CollectionsQuerySerializer,
    HouseNumberQuerySerializer,
    HouseNumberSerializer,
    LocationSerializer,
    NextCollectionListSerializer,
    NextCollectionSerializer,
    ReminderCreateSerializer,
    ReminderExistsErrorSerializer,
    ReminderSerializer,
    ReminderUpdateSerializer,
    StreetMatchSerializer,
    StreetQuerySerializer,
    TypesQuerySerializer,
    WasteTypeSerializer,
    split_type_keys,
)
from waste_calendar.feed import FEED_CACHE_SECONDS, LocationFeed, feed_body_parts, location_feed_build
from waste_calendar.models import Location, ReminderSubscription, Street, WasteType
from waste_calendar.normalise import street_compact_form, street_search_form
from waste_calendar.selectors import collections_for_location

TAGS = ["waste"]
# Lookups change with an import (a few times a year); collections may change any day.
LOOKUP_MAX_AGE = 3600
COLLECTIONS_MAX_AGE = 300
FEED_MAX_AGE = 3600
# Lookup answers are kept until the next import changes the data generation, at most this long.
BODY_SECONDS = 6 * 3600

_TYPES_PARAMETER = OpenApiParameter(
    "types", str, description="Waste type keys, comma-separated (`restabfall,papier`); all when absent."
)


def _location(location_id: str) -> Location:
    return get_object_or_404(Location.objects.select_related("street"), public_id=location_id)


class CachedLookupView(PublicEndpoint, CountedWhenBuilt):
    """A public lookup whose JSON answer is kept rendered in the cache until the data change: a hit costs
    neither a query nor encoding; only a build counts against the rate limit."""

    def cached_json(
        self, *, parts: Sequence[object], build: Callable[[], Any], seconds: int, max_age: int
    ) -> HttpResponse:
        def render() -> bytes:
            body: bytes = JSONRenderer().render(build())
            return body

        body = lookup.cached_body(parts=["json", *parts], build=self.counted(render), seconds=seconds)
        return cache_public(HttpResponse(body, content_type="application/json"), max_age=max_age)


def _parameters_as_sent(request: Request, *names: str) -> list[str]:
    """The values of the named query parameters as the client sent them, as part of a cache key.

    An answer is cached only after its parameters validated and it was built, so a request sending the same
    values may take it without validating again (a query serializer costs more than the cache hit). Other
    parameters are not part of the key: they cannot multiply the entries.
    """
    return [request.query_params.get(name, "") for name in names]


def _types(request: Request) -> list[str] | None:
    if not request.query_params:
        return None  # all types, without a serializer's cost
    query = TypesQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    types: list[str] | None = query.validated_data.get("types")
    return types


class WasteTypesView(CachedLookupView):
    @extend_schema(
        operation_id="waste_types_list",
        responses=WasteTypeSerializer(many=True),
        tags=TAGS,
        summary="Waste types",
        description="The active waste types with name and hints in the request's language, colour and icon.",
    )
    def get(self, request: Request) -> HttpResponse:
        def build() -> list[Any]:
            types = WasteType.objects.filter(is_active=True)
            return list(WasteTypeSerializer(types, many=True).data)

        return self.cached_json(
            parts=["types", request_language()], build=build, seconds=BODY_SECONDS, max_age=LOOKUP_MAX_AGE
        )


class StreetSearchView(CachedLookupView):
    @extend_schema(
        operation_id="waste_streets_search",
        parameters=[StreetQuerySerializer],
        responses=StreetMatchSerializer(many=True),
        tags=TAGS,
        summary="Street autocomplete",
        # An example is one street: drf-spectacular shows it as the list of a many=True answer.
        description=(
            "At most 20 streets, best first. Case, umlauts (ä/ae/a), ß/ss, hyphens and spaces and the "
            "spellings of 'Straße' (Strasse, Str., str) do not matter; a query matches the whole name, the "
            "start of the name, the start of a word of it, the name without spaces, or the inside of a "
            "word, ranked in that order. Then, marked `fuzzy: true`, streets whose name (or a word of it) "
            "begins with the query but for one wrong, missing, extra or swapped letter (two from 8 letters "
            "on; queries of 4 letters or more). A house number after the street ('Bahnhofstraße 12') is "
            "returned as `house_number` on every street, and `location_id` on the first when it is the one "
            "best match and a location holds the number."
        ),
        examples=[
            OpenApiExample(
                "Typed with a house number",
                summary="q=Bahnhofstr. 12",
                value={
                    "id": 17,
                    "name": "Bahnhofstraße",
                    "postcode": "44575",
                    "stadtteil": "Castrop",
                    "needs_house_number": True,
                    "fuzzy": False,
                    "house_number": "12",
                    "location_id": "k3v7q2mxa9",
                },
                response_only=True,
            ),
            OpenApiExample(
                "A typing error",
                summary="q=Bahnhfostrase",
                value={
                    "id": 17,
                    "name": "Bahnhofstraße",
                    "postcode": "44575",
                    "stadtteil": "Castrop",
                    "needs_house_number": True,
                    "fuzzy": True,
                    "house_number": "",
                    "location_id": None,
                },
                response_only=True,
            ),
        ],
    )
    def get(self, request: Request) -> HttpResponse:
        query = StreetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        text = query.validated_data["q"]

        def build() -> list[Any]:
            return list(StreetMatchSerializer(lookup.street_search(query=text), many=True).data)

        # Spellings that normalise alike share one cached answer.
        parts = ["streets", street_search_form(text), street_compact_form(text)]
        return self.cached_json(parts=parts, build=build, seconds=BODY_SECONDS, max_age=LOOKUP_MAX_AGE)


class StreetHouseNumbersView(CachedLookupView):
    @extend_schema(
        operation_id="waste_street_house_numbers",
        responses=HouseNumberSerializer(many=True),
        tags=TAGS,
        summary="House numbers of a street",
        description='The locations of a street: single numbers ("12a"), ranges ("1-99", odd/even) and the '
        'whole street ("").',
    )
    def get(self, request: Request, street_id: int) -> HttpResponse:
        def build() -> list[Any]:
            street = get_object_or_404(Street, pk=street_id)
            return list(HouseNumberSerializer(lookup.street_house_numbers(street=street), many=True).data)

        return self.cached_json(
            parts=["numbers", street_id], build=build, seconds=BODY_SECONDS, max_age=LOOKUP_MAX_AGE
        )


class StreetLocationView(CachedLookupView):
    @extend_schema(
        operation_id="waste_street_location",
        parameters=[HouseNumberQuerySerializer],
        responses={200: LocationSerializer},
        tags=TAGS,
        summary="Resolve an address to its location",
        description=(
            "The location that holds the house number: an exact number with suffix beats the number, which "
            "beats a range (with parity), which beats the whole street. A street with "
            "`needs_house_number: false` resolves without a number. 404 when no location holds it."
        ),
    )
    def get(self, request: Request, street_id: int) -> HttpResponse:
        def build() -> dict[str, Any]:
            query = HouseNumberQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            house_number = (query.validated_data.get("house_number") or "").strip().lower()
            street = get_object_or_404(Street, pk=street_id)
            try:
                location = lookup.location_resolve(street=street, house_number=house_number)
            except lookup.HouseNumberInvalid:
                raise ValidationError(
                    {"house_number": [_("A house number like 12 or 12a is required for this street.")]},
                    code="invalid_house_number",
                ) from None
            if location is None:
                raise NotFound()
            return dict(LocationSerializer(location, context={"request": request}).data)

        # The links in the body are absolute: one answer per host the API is reached under.
        parts = ["resolve", request.get_host(), street_id, *_parameters_as_sent(request, "house_number")]
        return self.cached_json(parts=parts, build=build, seconds=BODY_SECONDS, max_age=LOOKUP_MAX_AGE)


class LocationView(CachedLookupView):
    @extend_schema(
        operation_id="waste_location_read",
        responses=LocationSerializer,
        tags=TAGS,
        summary="A location with its calendar links",
        description="`ics_url` for download, `webcal_url` to subscribe in a calendar app.",
    )
    def get(self, request: Request, location_id: str) -> HttpResponse:
        def build() -> dict[str, Any]:
            return dict(LocationSerializer(_location(location_id), context={"request": request}).data)

        parts = ["location", request.get_host(), location_id]
        return self.cached_json(parts=parts, build=build, seconds=BODY_SECONDS, max_age=LOOKUP_MAX_AGE)


class LocationCollectionsView(CachedLookupView):
    @extend_schema(
        operation_id="waste_location_collections",
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="First day, default today (Europe/Berlin)."
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, description="Last day (inclusive), at most 400 days on."
            ),
            _TYPES_PARAMETER,
        ],
        responses=CollectionListSerializer,
        tags=TAGS,
        summary="Collections of a location",
        description=(
            "Ordered by day. A moved collection has `status: moved`, its new `date` and the regular "
            "`original_date`; a cancelled one stays in the list with `status: cancelled`."
        ),
    )
    def get(self, request: Request, location_id: str) -> HttpResponse:
        def build() -> dict[str, Any]:
            query = CollectionsQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            params = query.validated_data
            location = _location(location_id)
            collections = collections_for_location(
                location=location,
                date_from=params["date_from"],
                date_to=params["date_to"],
                type_keys=params.get("types"),
            )
            body = {
                "location": location.public_id,
                "date_from": params["date_from"],
                "date_to": params["date_to"],
                "collections": collections,
            }
            return dict(CollectionListSerializer(body).data)

        # The window defaults to today's: the day is part of the key.
        parts = [
            "collections",
            location_id,
            *_parameters_as_sent(request, "from", "to", "types"),
            lookup.local_today(),
        ]
        return self.cached_json(
            parts=parts, build=build, seconds=COLLECTIONS_MAX_AGE, max_age=COLLECTIONS_MAX_AGE
        )


class LocationNextView(CachedLookupView):
    @extend_schema(
        operation_id="waste_location_next",
        parameters=[_TYPES_PARAMETER],
        responses=NextCollectionListSerializer,
        tags=TAGS,
        summary="The next collection of each type (home widget)",
        description="Soonest first; cancelled collections are skipped, today counts.",
    )
    def get(self, request: Request, location_id: str) -> HttpResponse:
        type_keys = _types(request)
        language = request_language()

        def build() -> dict[str, Any]:
            location = _location(location_id)
            entries = lookup.next_collections(location=location, type_keys=type_keys)
            return {
                "location": location.public_id,
                "next": list(NextCollectionSerializer(entries, many=True).data),
            }

        parts = ["next", location_id, type_keys, language, lookup.local_today()]
        return self.cached_json(
            parts=parts, build=build, seconds=COLLECTIONS_MAX_AGE, max_age=COLLECTIONS_MAX_AGE
        )


def _not_modified(request: HttpRequest, version: lookup.FeedVersion) -> bool:
    """RFC 9110: If-None-Match wins; If-Modified-Since counts only without it."""
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        etags = parse_etags(if_none_match)
        return "*" in etags or version.etag in etags or version.etag in [e.removeprefix("W/") for e in etags]
    since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
    return since is not None and version.last_modified_seconds <= since


class LocationCalendarView(PublicEndpoint, APIView):
    """The feed's full path: parameter validation, the rate limit, building the calendar.

    Requests reach it through ``location_calendar_feed``, which answers what the cache already holds.
    """

    @extend_schema(
        operation_id="waste_location_ics",
        parameters=[_TYPES_PARAMETER],
        responses={
            (200, "text/calendar"): OpenApiResponse(
                OpenApiTypes.STR,
                description="iCalendar (RFC 5545): all-day events, 30 days back to 13 months ahead.",
            ),
            304: OpenApiResponse(description="Not modified (If-None-Match / If-Modified-Since)."),
        },
        tags=TAGS,
        summary="A location's collections as a calendar subscription",
        description=(
            "Stable UIDs (a moved collection keeps its UID), calendar name and refresh interval (RFC 7986 "
            "NAME / REFRESH-INTERVAL, X-WR-CALNAME / X-PUBLISHED-TTL). Send the ETag or Last-Modified back "
            "to get 304."
        ),
    )
    def get(self, request: Request, location_id: str) -> HttpResponse:
        type_keys = _types(request)
        language = request_language()
        # The feed's fast path has looked the validators up already: a miss is not asked again.
        looked_up = getattr(request._request, "waste_feed_version", _NOT_LOOKED_UP)
        version = (
            lookup.feed_version_cached(location_id=location_id, type_keys=type_keys, language=language)
            if looked_up is _NOT_LOOKED_UP
            else cast("lookup.FeedVersion | None", looked_up)
        )
        if version is None:
            built = location_feed_build(location_id=location_id, type_keys=type_keys, language=language)
            if built is None:
                raise Http404
            version, body = built
            if _not_modified(request, version):
                return _feed_validators(HttpResponseNotModified(), version)
            return _feed_response(location_id, body, version)
        if _not_modified(request, version):
            return _feed_validators(HttpResponseNotModified(), version)

        def build_body() -> bytes:
            feed = LocationFeed.load(location_id=location_id, type_keys=type_keys, language=language)
            if feed is None:
                raise Http404
            return feed.body()

        parts = feed_body_parts(location_id, type_keys, language, version)
        body = lookup.cached_body(parts=parts, build=build_body, seconds=FEED_CACHE_SECONDS)
        return _feed_response(location_id, body, version)


_NOT_LOOKED_UP = object()
_calendar_view = LocationCalendarView.as_view()


def location_calendar_feed(request: HttpRequest, location_id: str) -> HttpResponse:
    """``locations/{id}.ics``: calendar apps poll every subscription, mostly to hear "not modified".

    A poll whose validators (and body, unless the answer is 304) are in the cache is answered here, before
    DRF: no content negotiation, no query, and no rate limit, whose own round trip to Redis would cost more
    than the answer. Everything else (a calendar still to build, bad parameters, other methods) takes the
    full view. Only validated type lists are ever cached, so a hit needs no validation of its own.
    """
    types = request.GET.get("types", "")
    if request.method == "GET" and request.GET.keys() <= {"types"} and len(types) <= MAX_TYPES_PARAMETER:
        type_keys = split_type_keys(types)
        language = request_language()
        version = lookup.feed_version_cached(location_id=location_id, type_keys=type_keys, language=language)
        if version is not None:
            if _not_modified(request, version):
                return _feed_validators(HttpResponseNotModified(), version)
            body = lookup.cached_body_peek(parts=feed_body_parts(location_id, type_keys, language, version))
            if isinstance(body, bytes):
                return _feed_response(location_id, body, version)
        else:
            request.waste_feed_version = None  # type: ignore[attr-defined]  # the full view need not ask again
    response: HttpResponse = _calendar_view(request, location_id=location_id)
    return response


# What DRF, drf-spectacular and the CSRF middleware read off a view function (cls, initkwargs, csrf_exempt):
# the schema documents the full view.
location_calendar_feed.__dict__.update(_calendar_view.__dict__)


def _feed_response(location_id: str, body: bytes, version: lookup.FeedVersion) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="abfall-{location_id}.ics"'
    return _feed_validators(response, version)


def _feed_validators(response: HttpResponse, version: lookup.FeedVersion) -> HttpResponse:
    response["ETag"] = version.etag
    response["Last-Modified"] = version.last_modified_http
    return cache_public(response, max_age=FEED_MAX_AGE)


# --- Reminders of an installation


def _subscription(request: Request, reminder_id: int) -> ReminderSubscription:
    # Another installation's subscription is a 404: its existence is none of the caller's business.
    return get_object_or_404(
        ReminderSubscription.objects.select_related("location__street"),
        pk=reminder_id,
        installation=request_installation(request),
    )


class RemindersView(DeviceOnly, APIView):
    @extend_schema(
        operation_id="waste_reminders_list",
        responses=ReminderSerializer(many=True),
        tags=TAGS,
        summary="The installation's reminder subscriptions",
    )
    def get(self, request: Request) -> Response:
        subscriptions = ReminderSubscription.objects.filter(
            installation=request_installation(request)
        ).select_related("location__street")
        body = ReminderSerializer(subscriptions, many=True, context={"request": request}).data
        return cache_private(Response(body))

    @extend_schema(
        operation_id="waste_reminders_create",
        request=ReminderCreateSerializer,
        responses={
            201: ReminderSerializer,
            409: OpenApiResponse(
                ReminderExistsErrorSerializer,
                description="The location is already subscribed (`reminder_exists`); `existing_id` names "
                "that subscription.",
                examples=[
                    OpenApiExample(
                        "Already subscribed",
                        value={
                            "code": "reminder_exists",
                            "detail": (
                                "Diese Adresse ist bereits abonniert; ändern Sie stattdessen dieses Abo."
                            ),
                            "request_id": "3f2a9c1e5b7d4a60",
                            "existing_id": 42,
                        },
                    )
                ],
            ),
        },
        tags=TAGS,
        summary="Subscribe a location",
        description=(
            "`remind_day`: `evening_before` (the default) or `morning_of` the collection day; `remind_time`: "
            "16:00-22:00 the evening before or 05:00-08:00 the morning of, in 15-minute steps, Europe/Berlin "
            "(default 18:00 / 06:00; another time is 400 `invalid_reminder_time`). `house_number` must be "
            "one the location holds (400 `unknown_house_number`). `label`: the user's name for the address, "
            "shown in the push. All addresses of an installation due at the same time come in one push "
            '("Morgen: Bioabfall, Papier (Zuhause) · Restabfall (Wiesenstraße 3)"). One subscription per '
            "location (409 `reminder_exists` with `existing_id`), at most 10."
        ),
        examples=[
            OpenApiExample(
                "At the parents' house, at half past seven the evening before",
                value={
                    "location": "k3v7q2mxa9",
                    "house_number": "12",
                    "label": "Mama",
                    "types": ["restabfall", "papier"],
                    "remind_day": "evening_before",
                    "remind_time": "19:30",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = ReminderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = reminders.reminder_create(
            installation=request_installation(request),
            location_id=data["location"],
            types=data["types"],
            remind_at=data["remind_at"],
            remind_time=data.get("remind_time"),
            house_number=data["house_number"],
            label=data["label"],
        )
        body = ReminderSerializer(subscription, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ReminderView(DeviceOnly, APIView):
    @extend_schema(operation_id="waste_reminders_read", responses=ReminderSerializer, tags=TAGS)
    def get(self, request: Request, reminder_id: int) -> Response:
        body = ReminderSerializer(_subscription(request, reminder_id), context={"request": request}).data
        return cache_private(Response(body))

    @extend_schema(
        operation_id="waste_reminders_update",
        request=ReminderUpdateSerializer,
        responses=ReminderSerializer,
        tags=TAGS,
        summary="Change the types, time, house number or label of a subscription",
        description=(
            "Only the fields sent change. `remind_time` must lie in the window of the (new or current) "
            "`remind_day` (400 `invalid_reminder_time`); a new `remind_day` without `remind_time` takes that "
            "day's default time (18:00 / 06:00)."
        ),
    )
    def patch(self, request: Request, reminder_id: int) -> Response:
        subscription = _subscription(request, reminder_id)
        serializer = ReminderUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = reminders.reminder_update(subscription=subscription, **serializer.validated_data)
        return Response(ReminderSerializer(subscription, context={"request": request}).data)

    @extend_schema(operation_id="waste_reminders_delete", responses={204: None}, tags=TAGS)
    def delete(self, request: Request, reminder_id: int) -> Response:
        reminders.reminder_delete(subscription=_subscription(request, reminder_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

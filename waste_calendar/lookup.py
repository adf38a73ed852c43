"""Reads of the public waste API: street autocomplete, house-number resolution, the next collections and the
validators (ETag / Last-Modified) of a location's calendar.

Every comparison with stored street names goes through ``waste_calendar.normalise``: the stored
``name_search``/``name_compact`` forms were made by the same functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar, cast

from django.core.cache import cache
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.http import http_date

from waste_calendar.models import (
    Collection,
    CollectionStatus,
    DataGeneration,
    Location,
    LocationDistrict,
    Street,
    WasteType,
)
from waste_calendar.normalise import house_number_parts, street_compact_form, street_search_form
from waste_calendar.selectors import collections_for_location, locations_for_number

T = TypeVar("T")
K = TypeVar("K")

STREET_SEARCH_LIMIT = 20
# The ICS window: a month back (a phone that syncs rarely still shows last weeks), 13 months ahead.
FEED_DAYS_BACK = 30
FEED_DAYS_AHEAD = 396
# How long a location's validators are trusted without looking at the database again. An import that
# changed collections bumps the data generation and so invalidates them (within ``LOCAL_SECONDS``).
VALIDATOR_SECONDS = 300


def street_search(*, query: str, limit: int = STREET_SEARCH_LIMIT) -> list[Street]:
    """Streets matching a typed query, best first.

    Ranks: the name starts with the query (0), a word of it does (1), the name without spaces starts with
    it ("bochumerstr", 2), the query is inside a word ("hof" in "Friedhofstraße", 3); then shorter names,
    then alphabetical. An empty search form matches nothing.
    """
    form, compact = street_search_form(query), street_compact_form(query)
    if not compact:
        return []
    rank = Case(
        When(name_search__startswith=form, then=Value(0)),
        When(name_search__contains=f" {form}", then=Value(1)),
        When(name_compact__startswith=compact, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    matches = (
        Street.objects.filter(
            Q(name_search__startswith=form)
            | Q(name_search__contains=f" {form}")
            | Q(name_compact__contains=compact)
        )
        .annotate(rank=rank, name_length=Length("name"))
        .order_by("rank", "name_length", "name", "postcode")
    )
    return list(matches[:limit])


def street_house_numbers(*, street: Street) -> QuerySet[Location]:
    """The locations of a street as the app lists them (numbers ascending, ranges after their start)."""
    return Location.objects.filter(street=street).order_by(
        "number_from", "suffix", "number_to", "house_number_key"
    )


class HouseNumberInvalid(ValueError):
    """The text is not a house number ("12", "12a")."""


def location_resolve(*, street: Street, house_number: str | None) -> Location | None:
    """The location that holds a house number of a street, honouring ranges, parity and suffixes.

    A street that does not need a house number resolves to its whole-street location (or its only
    location) whatever number is given. ``None`` when no location holds the number.
    """
    if not street.needs_house_number:
        return street.locations.filter(house_number_key="").first() or street.locations.first()
    if not house_number:
        raise HouseNumberInvalid(house_number)
    parts = house_number_parts(house_number)
    if parts is None:
        raise HouseNumberInvalid(house_number)
    number, suffix = parts
    return locations_for_number(street_id=street.pk, number=number, suffix=suffix).first()


def local_today() -> dt.date:
    """Today in Europe/Berlin: collection days are local days."""
    return timezone.localdate()


def location_type_keys(*, location: Location, on: dt.date | None = None) -> list[str]:
    """The waste types with a district at the location (from ``on`` onwards), in display order."""
    on = on or local_today()
    keys = (
        LocationDistrict.objects.filter(location=location)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .values_list("waste_type__key", flat=True)
        .distinct()
    )
    return [t.key for t in WasteType.objects.filter(key__in=list(keys)).order_by("position", "key")]


@dataclass(frozen=True)
class NextCollection:
    waste_type: WasteType
    collection: Collection

    @property
    def days_until(self) -> int:
        return (self.collection.date - local_today()).days


def next_collections(*, location: Location, type_keys: Iterable[str] | None = None) -> list[NextCollection]:
    """For each waste type of the location the next collection that takes place, today included."""
    today = local_today()
    upcoming = collections_for_location(
        location=location,
        date_from=today,
        date_to=today + dt.timedelta(days=FEED_DAYS_AHEAD),
        type_keys=type_keys,
    ).exclude(status=CollectionStatus.CANCELLED)
    found: dict[int, NextCollection] = {}
    for collection in upcoming:
        waste_type = collection.district.waste_type
        if waste_type.pk not in found:
            found[waste_type.pk] = NextCollection(waste_type=waste_type, collection=collection)
    return sorted(found.values(), key=lambda n: (n.collection.date, n.waste_type.position, n.waste_type.key))


def feed_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or local_today()
    return today - dt.timedelta(days=FEED_DAYS_BACK), today + dt.timedelta(days=FEED_DAYS_AHEAD)


@dataclass(frozen=True)
class FeedVersion:
    """What a location's calendar depends on: equal versions mean equal bodies."""

    etag: str
    last_modified: dt.datetime
    # The header forms, made once: a revalidation answers with them and compares with them.
    last_modified_http: str = field(init=False)
    last_modified_seconds: int = field(init=False)

    def __post_init__(self) -> None:
        seconds = int(self.last_modified.timestamp())
        object.__setattr__(self, "last_modified_seconds", seconds)
        object.__setattr__(self, "last_modified_http", http_date(seconds))


def data_generation() -> int:
    """The data generation as every process sees it: a row in the database (one indexed read)."""
    found = DataGeneration.objects.filter(pk=1).values_list("generation", flat=True).first()
    return int(found or 0)


# Each process keeps the answers it served last, and trusts its copy of the data generation for
# ``LOCAL_SECONDS``: a hit then costs no round trip at all (each round trip is a context switch on a busy
# machine), and the generation costs one small query per process every ``LOCAL_SECONDS``, not one per
# request. A change is seen by the process that made it at once (``data_generation_bump`` clears its
# copy), by every other process — the server after a command-line import — within ``LOCAL_SECONDS``. The
# generation lives in the database, not in the cache: the embedded default's cache is per process.
LOCAL_SECONDS = 2.0
LOCAL_ENTRIES = 2000
_local: OrderedDict[str, tuple[int, object, float]] = OrderedDict()
_local_generation: list[float] = [float("-inf"), 0.0]  # read at (monotonic), generation


def local_forget() -> None:
    _local.clear()
    _local_generation[:] = [float("-inf"), 0.0]


def _current_generation(now: float) -> int:
    if now - _local_generation[0] >= LOCAL_SECONDS:
        _local_generation[:] = [now, float(data_generation())]
    return int(_local_generation[1])


def _shared_get(key: str) -> tuple[object | None, int]:
    """The cached value of ``key`` for the current generation (or None), and that generation."""
    now = time.monotonic()
    generation = _current_generation(now)
    entry = _local.get(key)
    if entry is not None and entry[0] == generation and entry[2] > now:
        _local.move_to_end(key)
        return entry[1], generation
    hit = cache.get(key)
    if hit is not None and hit[0] == generation:
        _remember(key, generation, hit[1], now + LOCAL_SECONDS * 30)
        return hit[1], generation
    return None, generation


def _shared_set(key: str, generation: int, value: object, seconds: int) -> None:
    cache.set(key, (generation, value), seconds)
    _remember(key, generation, value, time.monotonic() + min(seconds, LOCAL_SECONDS * 30))


def _remember(key: str, generation: int, value: object, until: float) -> None:
    _local[key] = (generation, value, until)
    _local.move_to_end(key)
    while len(_local) > LOCAL_ENTRIES:
        _local.popitem(last=False)


def cached_body(*, parts: Iterable[object], build: Callable[[], T], seconds: int) -> T:
    """A response body from the cache if it was built for the current data generation, else built now.

    Public lookups answer the same for everyone until the next import (which bumps the generation), so
    a hit costs at most one cache round trip and no query (but the generation's, once per process every
    ``LOCAL_SECONDS``). Errors raised by ``build`` are not cached.
    """
    hit, generation = _shared_get(_body_key(parts))
    if hit is not None:
        return hit  # type: ignore[return-value]
    body = build()
    _shared_set(_body_key(parts), generation, body, seconds)
    return body


def cached_body_peek(*, parts: Iterable[object]) -> object | None:
    """The body ``cached_body`` would answer from the cache for ``parts``, or None; never builds."""
    hit, _ = _shared_get(_body_key(parts))
    return hit


def _body_key(parts: Iterable[object]) -> str:
    return "waste:body:" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def data_generation_bump(**kwargs: object) -> None:
    """Called when the data changed (after commit): every cached validator and body is stale."""
    local_forget()
    if not DataGeneration.objects.filter(pk=1).update(generation=F("generation") + 1):
        DataGeneration.objects.get_or_create(pk=1, defaults={"generation": 1})


def _version_key(*, location_id: str, type_keys: list[str] | None, language: str) -> str:
    types_part = ",".join(type_keys) if type_keys is not None else "*"
    natural = f"{location_id}|{types_part}|{language}|{local_today()}"
    return "waste:feed-validators:" + hashlib.sha256(natural.encode()).hexdigest()


def feed_version_cached(
    *, location_id: str, type_keys: list[str] | None, language: str
) -> FeedVersion | None:
    """The validators if they are cached for the current data generation: one cache round trip, no query.

    This is the revalidation path of every calendar app polling its subscription, so it must stay cheap.
    """
    key = _version_key(location_id=location_id, type_keys=type_keys, language=language)
    cached, _ = _shared_get(key)
    return cast("FeedVersion | None", cached)


def feed_version(
    *, location_id: str, type_keys: list[str] | None, language: str, compute: Callable[[], FeedVersion]
) -> FeedVersion:
    """The validators of a location's calendar for today's window (``compute`` makes them, see
    ``feed.LocationFeed``), cached for a few minutes per location, types, language and day, and stale at
    once when an import changed collections (the data generation is bumped)."""
    key = _version_key(location_id=location_id, type_keys=type_keys, language=language)
    cached, generation = _shared_get(key)
    if cached is not None:
        return cast("FeedVersion", cached)
    version = compute()
    _shared_set(key, generation, version, VALIDATOR_SECONDS)
    return version


def cached_values(*, keys: dict[K, str], build: Callable[[list[K]], dict[K, T]], seconds: int) -> dict[K, T]:
    """The values of many cache keys for the current data generation; the missing ones built in one call."""
    found: dict[K, T] = {}
    missing: list[K] = []
    generation = 0
    for name, key in keys.items():
        hit, generation = _shared_get(key)
        if hit is None:
            missing.append(name)
        else:
            found[name] = cast("T", hit)
    if missing:
        built = build(missing)
        for name in missing:
            _shared_set(keys[name], generation, built[name], seconds)
        found.update(built)
    return found

"""Reads of the public waste API: street autocomplete, house-number resolution, the next collections and the
validators (ETag / Last-Modified) of a location's calendar.

Every comparison with stored street names goes through ``waste_calendar.normalise``: the stored
``name_search``/``name_compact`` forms were made by the same functions.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, cast

from django.core.cache import cache
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.http import http_date
from rapidfuzz import process
from rapidfuzz.distance import OSA, LCSseq

from casapp.caching import LocalMemo
from waste_calendar.models import (
    Collection,
    CollectionStatus,
    DataGeneration,
    Location,
    LocationDistrict,
    Street,
    WasteType,
)
from waste_calendar.normalise import (
    house_number_parts,
    street_and_house_number,
    street_compact_form,
    street_search_form,
)
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


@dataclass(frozen=True, slots=True)
class StreetFound:
    """The fields of a street the autocomplete answers with (made from the index, not a model instance)."""

    pk: int
    name: str
    postcode: str
    stadtteil: str
    needs_house_number: bool


@dataclass(frozen=True, slots=True)
class StreetMatch:
    """A street the autocomplete found, how, and what the typed house number resolves to."""

    street: StreetFound
    # Found with one or two letters wrong, missing or swapped: the app asks "Meinten Sie …?".
    fuzzy: bool
    # The house number typed after the street ("12a"), pre-selected by the app; "" when none was typed.
    house_number: str
    # The location that holds the house number, when the street is the one best match; else None.
    location_id: str | None


# A street in the index: the values_list row as it came (a tuple is the cheapest thing to make 5,000 of).
_PK: Final = 0
_NAME: Final = 1
_POSTCODE: Final = 2
_STADTTEIL: Final = 3
_NEEDS_NUMBER: Final = 4
_SEARCH: Final = 5
_IndexRow = tuple[int, str, str, str, bool, str]


@dataclass
class StreetIndex:
    """Every street's search forms in memory, for the autocomplete of one data generation.

    ``compact_text`` holds the compact forms one per line, so "which names contain the query" is one
    ``str.find`` loop in C. Fuzzy matching compares the query with the beginning of each name and of each
    later word of it ("bahnhof" in "Am Bahnhof"), in the compact form: ``word_starts``, made on the first
    fuzzy search; ``prefixes(k)`` holds those beginnings cut to ``k`` letters, made on first use per length.
    """

    streets: list[_IndexRow]
    compacts: list[str]
    compact_text: str
    line_starts: list[int]
    _word_starts: tuple[list[str], list[int]] | None = None
    _prefixes: dict[int, list[str]] = field(default_factory=dict)

    def __getstate__(self) -> dict[str, Any]:
        # Shared through the cache without the cut beginnings: each process makes those it needs.
        return {**self.__dict__, "_prefixes": {}}

    def word_starts(self) -> tuple[list[str], list[int]]:
        """The compact form from each name start and word start on, and the street each belongs to."""
        if self._word_starts is None:
            texts, owners = list(self.compacts), list(range(len(self.compacts)))
            for position, row in enumerate(self.streets):
                if " " in row[_SEARCH]:  # the later words of "am bahnhof": "bahnhof"
                    words = row[_SEARCH].split(" ")
                    for number in range(1, len(words)):
                        texts.append("".join(words[number:]))
                        owners.append(position)
            self._word_starts = (texts, owners)
        return self._word_starts

    def prefixes(self, length: int) -> list[str]:
        """Each word start cut to ``length`` letters (in the order of ``word_starts``)."""
        found = self._prefixes.get(length)
        if found is None:
            found = self._prefixes[length] = [text[:length] for text in self.word_starts()[0]]
        return found

    def containing(self, compact: str) -> Iterator[int]:
        """The streets whose compact form contains ``compact`` (which holds no line break)."""
        text, starts = self.compact_text, self.line_starts
        position = text.find(compact)
        while position != -1:
            line = bisect.bisect_right(starts, position) - 1
            yield line
            if line + 1 >= len(starts):
                return
            position = text.find(compact, starts[line + 1])


STREET_INDEX_KEY = "waste:street-index"
STREET_INDEX_SECONDS = 6 * 3600


def street_index_build() -> StreetIndex:
    """Reads every street once and prepares its search forms, word starts included."""
    streets: list[_IndexRow] = list(
        Street.objects.order_by().values_list(
            "pk", "name", "postcode", "stadtteil", "needs_house_number", "name_search"
        )
    )
    compacts = [row[_SEARCH].replace(" ", "") for row in streets]
    line_starts = list(itertools.accumulate((len(compact) + 1 for compact in compacts), initial=0))[:-1]
    index = StreetIndex(
        streets=streets, compacts=compacts, compact_text="\n".join(compacts), line_starts=line_starts
    )
    index.word_starts()
    return index


# The index of this process and the data generation it was built for; rebuilt when an import or a staff
# edit bumped the generation (seen within ``LOCAL_SECONDS``, at once by the process that made the change).
_street_index: LocalMemo[None, StreetIndex] = LocalMemo("street index")


def street_index() -> StreetIndex:
    """The index for the current data generation: this process's, else the one another process built and
    put in the shared cache (one round trip; what the other web processes pay after an import), else built
    from the database and shared."""
    generation = _current_generation()
    index = _street_index.get(None, generation)
    if index is not None:
        return index
    cached, generation = _shared_get(STREET_INDEX_KEY)
    index = cast("StreetIndex | None", cached)
    if index is None:
        index = street_index_build()
        _shared_set(STREET_INDEX_KEY, generation, index, STREET_INDEX_SECONDS)
    return _street_index.put(None, index, generation)


# Fuzzy matching starts at this many letters (shorter queries match too much) and allows one wrong,
# missing, extra or swapped letter, two from ``FUZZY_TWO_ERRORS`` letters on.
FUZZY_MIN_LETTERS = 4
FUZZY_TWO_ERRORS = 8
FUZZY_RANK = 10
_RankKey = tuple[int, int, int, str, str]


def street_search(*, query: str, limit: int = STREET_SEARCH_LIMIT) -> list[StreetMatch]:
    """Streets matching a typed query, best first, with a house number typed after the street resolved.

    Ranks: the name is the query (0), starts with it (1), a word of it does (2), the name without spaces
    starts with it ("bochumerstr", 3), the query is inside a word ("hof" in "Friedhofstraße", 4); then
    shorter names, then alphabetical. Fewer than ``limit`` such matches are followed by fuzzy ones: the
    beginning of the name or of a word of it within one or two edits (OSA distance: a swap of two letters
    counts one), fewest edits first, then the name whose whole form is closest. An empty search form
    matches nothing. ``location_id`` is filled only for the first street when it matches better than the
    second (or is the only one) and a location holds the typed number.
    """
    street_text, house_number = street_and_house_number(query)
    form, compact = street_search_form(street_text), street_compact_form(street_text)
    if not compact:
        return []
    index = street_index()
    ranked: list[tuple[_RankKey, _IndexRow]] = []
    word_form = f" {form}"
    for position in index.containing(compact):
        row = index.streets[position]
        if index.compacts[position] == compact:
            rank = 0
        elif row[_SEARCH].startswith(form):
            rank = 1
        elif word_form in row[_SEARCH]:
            rank = 2
        elif index.compacts[position].startswith(compact):
            rank = 3
        else:
            rank = 4
        ranked.append(((rank, 0, len(row[_NAME]), row[_NAME], row[_POSTCODE]), row))
    if len(ranked) < limit and len(compact) >= FUZZY_MIN_LETTERS:
        ranked += _fuzzy_matches(index, compact, exclude={row[_PK] for _, row in ranked})
    ranked.sort(key=lambda entry: entry[0])
    best = ranked[:limit]
    location_id = None
    if house_number and best and (len(best) == 1 or best[0][0][:2] < best[1][0][:2]):
        location_id = _location_id_of(best[0][1], house_number)
    return [
        StreetMatch(
            street=StreetFound(
                pk=row[_PK],
                name=row[_NAME],
                postcode=row[_POSTCODE],
                stadtteil=row[_STADTTEIL],
                needs_house_number=row[_NEEDS_NUMBER],
            ),
            fuzzy=key[0] >= FUZZY_RANK,
            house_number=house_number,
            location_id=location_id if position == 0 else None,
        )
        for position, (key, row) in enumerate(best)
    ]


def _fuzzy_matches(
    index: StreetIndex, compact: str, *, exclude: set[int]
) -> list[tuple[_RankKey, _IndexRow]]:
    """Streets whose name or a word of it begins within ``errors`` edits of the query (rapidfuzz).

    The beginning that matches may be up to ``errors`` letters shorter or longer than the query. Each edit
    costs a common subsequence at most one letter, so a beginning within ``errors`` edits shares at least
    ``len - errors`` letters in order with the beginning of ``len + errors`` letters: one bulk comparison
    (LCS, in C) finds the few candidates, whose OSA distances are then computed.
    """
    errors = 1 if len(compact) < FUZZY_TWO_ERRORS else 2
    longest = len(compact) + errors
    word_starts, owners = index.word_starts()
    candidates = process.extract(
        compact,
        index.prefixes(longest),
        scorer=LCSseq.similarity,
        score_cutoff=len(compact) - errors,
        limit=None,
    )
    nearest: dict[int, int] = {}
    lengths = range(max(1, len(compact) - errors), longest + 1)
    for _text, _common, entry in candidates:
        word_start = word_starts[entry]
        distance = min(
            OSA.distance(compact, word_start[:length], score_cutoff=errors + 1) for length in lengths
        )
        position = owners[entry]
        if distance <= errors and distance < nearest.get(position, errors + 1):
            nearest[position] = distance
    matches = []
    for position, distance in nearest.items():
        row = index.streets[position]
        if row[_PK] in exclude:
            continue
        whole = OSA.distance(compact, index.compacts[position])
        matches.append(((FUZZY_RANK + distance, whole, len(row[_NAME]), row[_NAME], row[_POSTCODE]), row))
    return matches


def _location_id_of(row: _IndexRow, house_number: str) -> str | None:
    street = Street(pk=row[_PK], name=row[_NAME], needs_house_number=row[_NEEDS_NUMBER])
    try:
        location = location_resolve(street=street, house_number=house_number)
    except HouseNumberInvalid:
        return None
    return location.public_id if location is not None else None


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
# Shared values as this process last saw them, by cache key, for the generation they belong to.
_local: LocalMemo[str, object] = LocalMemo(
    "waste shared values", entries=LOCAL_ENTRIES, seconds=LOCAL_SECONDS * 30
)
_local_generation: LocalMemo[None, int] = LocalMemo("data generation", seconds=LOCAL_SECONDS)
# ``cached_values`` (a district's rendered events): a few hundred values every calendar needs.
_values_local: LocalMemo[str, object] = LocalMemo(
    "waste shared values, many at once", entries=LOCAL_ENTRIES, seconds=LOCAL_SECONDS * 30
)


def local_forget() -> None:
    _local.forget()
    _values_local.forget()
    _street_index.forget()
    _local_generation.forget()


def _current_generation() -> int:
    return _local_generation.get_or_build(None, data_generation)


def _shared_get(key: str) -> tuple[object | None, int]:
    """The cached value of ``key`` for the current generation (or None), and that generation."""
    generation = _current_generation()
    found = _local.get(key, generation)
    if found is not None:
        return found, generation
    hit = cache.get(key)
    if hit is not None and hit[0] == generation:
        return _local.put(key, hit[1], generation), generation
    return None, generation


def _shared_set(key: str, generation: int, value: object, seconds: int) -> None:
    cache.set(key, (generation, value), seconds)
    _local.put(key, value, generation, seconds=seconds)


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


def cached_value_peek(key: str) -> object | None:
    """What ``cached_values`` holds in this process under ``key`` for the current generation, or None."""
    return _values_local.get(key, _current_generation())


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
    return "waste:feed-validators:v2:" + hashlib.sha256(natural.encode()).hexdigest()


def feed_version_cached(
    *, location_id: str, type_keys: list[str] | None, language: str
) -> FeedVersion | None:
    """The validators if they are cached for the current data generation and younger than
    ``VALIDATOR_SECONDS``: one cache round trip, no query.

    This is the revalidation path of every calendar app polling its subscription, so it must stay cheap.
    """
    key = _version_key(location_id=location_id, type_keys=type_keys, language=language)
    cached, _ = _shared_get(key)
    if cached is None:
        return None
    version, trusted_until = cast("tuple[FeedVersion, float]", cached)
    return version if time.time() < trusted_until else None


def feed_store(
    *,
    location_id: str,
    type_keys: list[str] | None,
    language: str,
    version: FeedVersion,
    body_parts: Iterable[object],
    body: bytes,
    body_seconds: int,
) -> None:
    """A calendar's validators and body, built together, written in one cache round trip.

    The body lives ``body_seconds``; the validators are trusted ``VALIDATOR_SECONDS`` (a safety net for a
    change that did not bump the data generation), written with the body's lifetime and their own deadline.
    """
    generation = _current_generation()
    key = _version_key(location_id=location_id, type_keys=type_keys, language=language)
    validators = (version, time.time() + VALIDATOR_SECONDS)
    cache.set_many({key: (generation, validators), _body_key(body_parts): (generation, body)}, body_seconds)
    _local.put(key, validators, generation, seconds=VALIDATOR_SECONDS)
    _local.put(_body_key(body_parts), body, generation, seconds=body_seconds)


def cached_values(*, keys: dict[K, str], build: Callable[[list[K]], dict[K, T]], seconds: int) -> dict[K, T]:
    """The values of many cache keys for the current data generation; the missing ones built in one call.

    Kept in a memo of their own (calendars built on request must not push them out of ``_local``); what
    this process does not hold is asked of the shared cache in one round trip, and what was built is
    written in one.
    """
    generation = _current_generation()
    found: dict[K, T] = {}
    asked: dict[str, K] = {}
    for name, key in keys.items():
        held = _values_local.get(key, generation)
        if held is None:
            asked[key] = name
        else:
            found[name] = cast("T", held)
    if asked:
        for key, hit in cache.get_many(list(asked)).items():
            if hit[0] == generation:
                found[asked[key]] = cast("T", _values_local.put(key, hit[1], generation))
    missing = [name for name in keys if name not in found]
    if missing:
        built = build(missing)
        cache.set_many({keys[name]: (generation, built[name]) for name in missing}, seconds)
        for name in missing:
            _values_local.put(keys[name], built[name], generation, seconds=seconds)
        found.update(built)
    return found

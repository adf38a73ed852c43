"""Writes of the Abfallkalender: applying an import or a planned year, and the hook for the reminder side.

What an import brings is an ``import_data.ImportData``; how its dates are compared with the stored ones is
``comparison``; this module writes streets, locations, districts and assignments, and records the run.

``collections_changed`` is sent after an import's (or a re-planning's) transaction committed, once per run
that moved, cancelled or added collections compared with the data before, with
``changes=[CollectionChange, …]`` (district and waste type joined) and ``import_run``. The same changes
stay queryable as ``CollectionChange`` rows (``notified_at`` empty), so a receiver that failed can catch up.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casapp.errors import Conflict
from waste_calendar.comparison import collections_compare, collections_write
from waste_calendar.import_data import (
    AddressKey,
    ImportData,
    PlannedCollection,
    Progress,
    checksum_of,
    import_data_dump,
    import_data_load,
)
from waste_calendar.models import (
    ChangeKind,
    Collection,
    CollectionChange,
    CollectionStatus,
    District,
    DistrictSource,
    ImportKind,
    ImportRun,
    ImportStatus,
    Location,
    LocationDistrict,
    PlanRule,
    Street,
    WasteType,
    location_public_id,
)
from waste_calendar.normalise import (
    street_compact_form,
    street_search_form,
)
from waste_calendar.planning import Rule, RulesFile, ShiftPolicy, district_year
from waste_calendar.plausibility import ImportReview, import_review

# Arguments: changes (list[CollectionChange]), import_run (ImportRun).
collections_changed = Signal()

ID_CHUNK = 5000


def _no_progress(done: int, total: int) -> None:
    return None


# --- Recording runs


def import_run_last_good(*, kind: str) -> ImportRun | None:
    return (
        ImportRun.objects.filter(kind=kind, status__in=[ImportStatus.SUCCEEDED, ImportStatus.UNCHANGED])
        .order_by("-started_at", "-pk")
        .first()
    )


def import_run_fail(
    *, kind: str, source: str, checksum: str, problems: list[str], started_at: dt.datetime
) -> ImportRun:
    """Records a refused import; nothing else is written."""
    return ImportRun.objects.create(
        kind=kind,
        source=source[:1000],
        checksum=checksum,
        status=ImportStatus.FAILED,
        started_at=started_at,
        finished_at=timezone.now(),
        problems="\n".join(problems),
        summary={"problems": len(problems)},
    )


# --- Applying


class _Held(Exception):
    def __init__(self, review: ImportReview, held_input: bytes) -> None:
        super().__init__("held for review")
        self.review = review
        self.held_input = held_input


def import_apply(
    *,
    data: ImportData,
    started_at: dt.datetime | None = None,
    progress: Progress = _no_progress,
    ics_groups: dict[tuple[AddressKey, str], frozenset[dt.date]] | None = None,
    hold_implausible: bool = True,
    held_run: ImportRun | None = None,
    reviewed_by: AbstractBaseUser | None = None,
) -> ImportRun:
    """Applies a checked import in one transaction and records the run.

    Guarantees: idempotent (the same input as the last good import of its kind changes nothing and is
    recorded as ``unchanged``); locations keep their ``public_id``; a district's stored dates within the
    input's span (``ImportData.span``) are compared with the new ones (``comparison``): a date that moved
    by up to ``MOVE_MAX_DAYS`` is marked ``moved`` with its original date, one that disappeared
    ``cancelled``, and each is recorded as a ``CollectionChange``; ``collections_changed`` is sent after
    commit. Locations, streets and dates the input does not mention are kept.

    With ``hold_implausible`` an import that would cancel or move more than ``WASTE_IMPORT_REVIEW_SHARE``
    of a district's future collections, or leave a waste type without any, writes nothing but a ``held``
    run with the review and its input; ``import_held_confirm`` applies it later.
    """
    started_at = started_at or timezone.now()
    last_good = import_run_last_good(kind=data.kind)
    if held_run is None and data.checksum and last_good is not None and last_good.checksum == data.checksum:
        return ImportRun.objects.create(
            kind=data.kind,
            source=data.source[:1000],
            checksum=data.checksum,
            status=ImportStatus.UNCHANGED,
            started_at=started_at,
            finished_at=timezone.now(),
            summary={"same_as": last_good.pk},
        )
    try:
        return _import_write(
            data=data,
            started_at=started_at,
            progress=progress,
            ics_groups=ics_groups,
            hold_implausible=hold_implausible,
            held_run=held_run,
            reviewed_by=reviewed_by,
        )
    except _Held as held:
        # Everything the attempt wrote is rolled back, its on-commit announcements with it.
        moved_cancelled_added = Counter[str]()
        for impact in held.review.districts:
            moved_cancelled_added.update(
                {"cancelled": impact.cancelled, "moved": impact.moved, "added": impact.added}
            )
        return ImportRun.objects.create(
            kind=data.kind,
            source=data.source[:1000],
            checksum=data.checksum,
            status=ImportStatus.HELD,
            started_at=started_at,
            finished_at=timezone.now(),
            summary={f"future_{key}": value for key, value in moved_cancelled_added.items() if value},
            review=held.review.as_json(),
            held_input=held.held_input,
        )


def _import_write(
    *,
    data: ImportData,
    started_at: dt.datetime,
    progress: Progress,
    ics_groups: dict[tuple[AddressKey, str], frozenset[dt.date]] | None,
    hold_implausible: bool,
    held_run: ImportRun | None,
    reviewed_by: AbstractBaseUser | None,
) -> ImportRun:
    with transaction.atomic():
        if held_run is None:
            run = ImportRun.objects.create(
                kind=data.kind,
                source=data.source[:1000],
                checksum=data.checksum,
                status=ImportStatus.SUCCEEDED,
                started_at=started_at,
            )
        else:
            run = held_run
            run.status, run.held_input = ImportStatus.SUCCEEDED, None
            run.reviewed_by, run.reviewed_at = reviewed_by, timezone.now()  # type: ignore[assignment]
            run.save(update_fields=["status", "held_input", "reviewed_by", "reviewed_at"])
        types = {waste_type.key: waste_type for waste_type in WasteType.objects.all()}
        summary: Counter[str] = Counter()
        locations = _locations_ensure(data=data, summary=summary)
        if ics_groups is not None:
            _ics_districts_resolve(data=data, groups=ics_groups, locations=locations, types=types)
        districts = _districts_ensure(data=data, types=types, summary=summary)
        _assignments_sync(data=data, locations=locations, districts=districts, types=types, summary=summary)
        _street_locations_sync(data=data, locations=locations, types=types, summary=summary)
        plan = collections_compare(data=data, districts=districts, run=run, progress=progress)
        if hold_implausible:
            review = import_review(
                plan=plan,
                districts=districts,
                share_limit=settings.WASTE_IMPORT_REVIEW_SHARE,
                today=timezone.localdate(),
            )
            if review.reasons:
                # The input as resolved (ICS districts included): confirming applies exactly this.
                raise _Held(review, import_data_dump(data))
        changes = collections_write(plan=plan, run=run, summary=summary)
        run.summary = {key: value for key, value in summary.items() if value}
        run.finished_at = timezone.now()
        # Idempotent by content too: input differing only in form (order, date spelling) changes nothing.
        if held_run is None and not any(
            value for key, value in summary.items() if key != "streets_without_number_step"
        ):
            run.status = ImportStatus.UNCHANGED
        run.save(update_fields=["summary", "finished_at", "status"])
        if changes:
            transaction.on_commit(lambda: _changes_announce(run))
    return run


class ImportNotHeld(Conflict):
    code = "import_not_held"


def _held_run_locked(run_id: int) -> ImportRun:
    run = ImportRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status != ImportStatus.HELD:
        raise ImportNotHeld(_("This import is not waiting for a review (any more)."))
    return run


def import_held_confirm(*, run_id: int, user: AbstractBaseUser) -> ImportRun:
    """Applies a held import as it was checked, and announces its changes after commit.

    Refused (``ImportNotHeld``) when it was decided already, or when another import changed the data
    since: what the review showed would no longer be what is applied; run that import again instead.
    """
    with transaction.atomic():
        run = _held_run_locked(run_id)
        if ImportRun.objects.filter(status=ImportStatus.SUCCEEDED, started_at__gt=run.started_at).exists():
            raise ImportNotHeld(
                _(
                    "Another import changed the data since this one was held; its review is out of date. "
                    "Discard it and run the import again."
                ),
                code="import_review_outdated",
            )
        data = import_data_load(bytes(run.held_input or b""))
        return import_apply(data=data, hold_implausible=False, held_run=run, reviewed_by=user)


def import_held_discard(*, run_id: int, user: AbstractBaseUser) -> ImportRun:
    """Discards a held import: nothing of it is applied; the run stays in the history as discarded."""
    with transaction.atomic():
        run = _held_run_locked(run_id)
        run.status, run.held_input = ImportStatus.DISCARDED, None
        run.reviewed_by, run.reviewed_at = user, timezone.now()  # type: ignore[assignment]
        run.save(update_fields=["status", "held_input", "reviewed_by", "reviewed_at"])
    return run


def _changes_announce(run: ImportRun) -> None:
    changes = list(
        CollectionChange.objects.filter(import_run=run).select_related("district__waste_type", "collection")
    )
    collections_changed.send(sender=ImportRun, changes=changes, import_run=run)


def _locations_ensure(*, data: ImportData, summary: Counter[str]) -> dict[AddressKey, Location]:
    street_keys = set(data.streets) | {(key.street, key.postcode) for key in data.house_numbers}
    names = {name for name, _postcode in street_keys}
    streets = {(street.name, street.postcode): street for street in Street.objects.filter(name__in=names)}
    new_streets = []
    changed_streets = []
    for name, postcode in sorted(street_keys):
        stadtteil = data.streets.get((name, postcode), "")
        street = streets.get((name, postcode))
        if street is None:
            new_streets.append(
                Street(
                    name=name,
                    postcode=postcode,
                    stadtteil=stadtteil,
                    name_search=street_search_form(name),
                    name_compact=street_compact_form(name),
                )
            )
        elif stadtteil and street.stadtteil != stadtteil:
            street.stadtteil = stadtteil
            changed_streets.append(street)
    Street.objects.bulk_create(new_streets, batch_size=1000)
    Street.objects.bulk_update(changed_streets, ["stadtteil"], batch_size=1000)
    summary["streets_created"] += len(new_streets)
    streets = {(street.name, street.postcode): street for street in Street.objects.filter(name__in=names)}

    existing = {
        (location.street_id, location.house_number_key): location
        for location in Location.objects.filter(street__in=list(streets.values()))
    }
    new_locations = []
    for key, number in data.house_numbers.items():
        street = streets[(key.street, key.postcode)]
        if (street.pk, number.key) not in existing:
            location = Location(
                public_id=location_public_id(
                    street_name=key.street, postcode=key.postcode, house_number_key=number.key
                ),
                street=street,
                house_number=number.display,
                house_number_key=number.key,
                number_from=number.number_from,
                number_to=number.number_to,
                suffix=number.suffix,
                parity=number.parity,
            )
            new_locations.append(location)
            existing[(street.pk, number.key)] = location
    Location.objects.bulk_create(new_locations, batch_size=2000)
    summary["locations_created"] += len(new_locations)
    if any(location.pk is None for location in new_locations):  # backends without RETURNING ids
        existing = {
            (location.street_id, location.house_number_key): location
            for location in Location.objects.filter(street__in=list(streets.values()))
        }
    return {
        key: existing[(streets[(key.street, key.postcode)].pk, number.key)]
        for key, number in data.house_numbers.items()
    }


def _ics_districts_resolve(
    *,
    data: ImportData,
    groups: dict[tuple[AddressKey, str], frozenset[dt.date]],
    locations: dict[AddressKey, Location],
    types: dict[str, WasteType],
) -> None:
    """Addresses whose feeds carry the same dates for a type share a district.

    A group keeps the district most of its addresses had before (largest groups choose first), so a
    re-import compares each district with its own previous dates and recognises moved ones.
    """
    members: dict[tuple[str, frozenset[dt.date]], list[AddressKey]] = defaultdict(list)
    for (address, type_key), dates in groups.items():
        members[(type_key, dates)].append(address)
    previous: dict[tuple[int, int], int] = {}
    location_ids = [location.pk for location in locations.values()]
    # In chunks: SQLite allows some 32,000 parameters per query, a region has 100,000 addresses.
    for chunk_start in range(0, len(location_ids), ID_CHUNK):
        for location_id, type_id, district_id in (
            LocationDistrict.objects.filter(
                location_id__in=location_ids[chunk_start : chunk_start + ID_CHUNK]
            )
            .order_by("valid_from")
            .values_list("location_id", "waste_type_id", "district_id")
        ):
            previous[(location_id, type_id)] = district_id  # the latest period wins
    codes = dict(District.objects.filter(source=DistrictSource.ICS).values_list("pk", "code"))
    taken: set[tuple[str, str]] = set()
    used_numbers: dict[str, set[int]] = defaultdict(set)
    for type_key, code in District.objects.filter(source=DistrictSource.ICS).values_list(
        "waste_type__key", "code"
    ):
        suffix = code.rsplit("-", 1)[-1]
        if suffix.isdigit():
            used_numbers[type_key].add(int(suffix))
    ordered = sorted(members.items(), key=lambda item: (-len(item[1]), item[0][0], min(item[0][1])))
    for (type_key, dates), addresses in ordered:
        votes = Counter(
            codes[previous[(locations[address].pk, types[type_key].pk)]]
            for address in addresses
            if (locations[address].pk, types[type_key].pk) in previous
            and previous[(locations[address].pk, types[type_key].pk)] in codes
        )
        kept = next((code for code, _count in votes.most_common() if (type_key, code) not in taken), None)
        if kept is None:
            number = max(used_numbers[type_key], default=0) + 1
            used_numbers[type_key].add(number)
            kept = f"ics-{number:04d}"
        code = kept
        taken.add((type_key, code))
        for address in addresses:
            data.assignments.setdefault(address, {})[type_key] = code
        data.collections[(type_key, code)] = dict.fromkeys(dates, PlannedCollection())


def _districts_ensure(
    *, data: ImportData, types: dict[str, WasteType], summary: Counter[str]
) -> dict[tuple[str, str], District]:
    wanted = set(data.collections) | {
        (type_key, code) for by_type in data.assignments.values() for type_key, code in by_type.items()
    }
    existing = {
        (district.waste_type.key, district.code): district
        for district in District.objects.select_related("waste_type").filter(
            waste_type__key__in={type_key for type_key, _code in wanted}
        )
    }
    new = [
        District(
            waste_type=types[type_key],
            code=code,
            name=data.district_names.get((type_key, code), ""),
            source=data.district_source,
        )
        for type_key, code in sorted(wanted - set(existing))
    ]
    District.objects.bulk_create(new)
    summary["districts_created"] += len(new)
    renamed = []
    for key, name in data.district_names.items():
        district = existing.get(key)
        if district is not None and name and district.name != name:
            district.name = name
            renamed.append(district)
    District.objects.bulk_update(renamed, ["name"])
    return {
        (district.waste_type.key, district.code): district
        for district in District.objects.select_related("waste_type").filter(
            waste_type__key__in={type_key for type_key, _code in wanted}
        )
        if (district.waste_type.key, district.code) in wanted
    }


def _assignment_set(
    *,
    rows: list[LocationDistrict],
    location: Location,
    waste_type: WasteType,
    district: District | None,
    valid_from: dt.date,
    created: list[LocationDistrict],
    updated: list[LocationDistrict],
    deleted: list[LocationDistrict],
) -> None:
    """From ``valid_from`` on, the location belongs to ``district`` (None: to none); earlier periods stay."""
    exact = next((row for row in rows if row.valid_from == valid_from), None)
    covering = next(
        (
            row
            for row in rows
            if row.valid_from < valid_from and (row.valid_until is None or row.valid_until >= valid_from)
        ),
        None,
    )
    later = [row.valid_from for row in rows if row.valid_from > valid_from]
    until = min(later) - dt.timedelta(days=1) if later else None
    if exact is not None:
        if district is None:
            deleted.append(exact)
        elif exact.district_id != district.pk:
            exact.district = district
            updated.append(exact)
        return
    if covering is not None:
        if district is not None and covering.district_id == district.pk:
            return
        until = covering.valid_until if until is None else until
        covering.valid_until = valid_from - dt.timedelta(days=1)
        updated.append(covering)
    if district is not None:
        created.append(
            LocationDistrict(
                location=location,
                waste_type=waste_type,
                district=district,
                valid_from=valid_from,
                valid_until=until,
            )
        )


def _assignments_write(
    created: list[LocationDistrict], updated: list[LocationDistrict], deleted: list[LocationDistrict]
) -> None:
    now = timezone.now()
    for row in updated:
        row.updated_at = now
    LocationDistrict.objects.filter(pk__in=[row.pk for row in deleted]).delete()
    LocationDistrict.objects.bulk_update(updated, ["district", "valid_until", "updated_at"], batch_size=2000)
    LocationDistrict.objects.bulk_create(created, batch_size=2000)


def _assignments_sync(
    *,
    data: ImportData,
    locations: dict[AddressKey, Location],
    districts: dict[tuple[str, str], District],
    types: dict[str, WasteType],
    summary: Counter[str],
) -> None:
    addresses = list(data.assignments)
    # A chunk of addresses at a time: a region's 800,000 assignment rows as model instances at once would
    # take gigabytes.
    for chunk_start in range(0, len(addresses), ID_CHUNK):
        chunk = addresses[chunk_start : chunk_start + ID_CHUNK]
        rows: dict[tuple[int, int], list[LocationDistrict]] = defaultdict(list)
        for row in LocationDistrict.objects.filter(location_id__in=[locations[a].pk for a in chunk]):
            rows[(row.location_id, row.waste_type_id)].append(row)
        created: list[LocationDistrict] = []
        updated: list[LocationDistrict] = []
        deleted: list[LocationDistrict] = []
        for address in chunk:
            location = locations[address]
            for type_key, code in data.assignments[address].items():
                waste_type = types[type_key]
                _assignment_set(
                    rows=rows[(location.pk, waste_type.pk)],
                    location=location,
                    waste_type=waste_type,
                    district=districts[(type_key, code)],
                    valid_from=data.valid_from,
                    created=created,
                    updated=updated,
                    deleted=deleted,
                )
        _assignments_write(created, updated, deleted)
        summary["assignments_created"] += len(created)
        summary["assignments_changed"] += len(updated) + len(deleted)


def _street_locations_sync(
    *,
    data: ImportData,
    locations: dict[AddressKey, Location],
    types: dict[str, WasteType],
    summary: Counter[str],
) -> None:
    """A street whose house numbers share every district becomes one location (the number step is skipped).

    Compared for the period the import starts (``valid_from``). The street's own location mirrors the
    shared districts; when its numbers stop sharing them, the street location's districts end the day
    before and the app asks for the house number again.
    """
    street_ids = {location.street_id for location in locations.values()}
    by_street: dict[int, dict[int, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    street_locations: dict[int, Location] = {}
    for location in Location.objects.filter(street_id__in=street_ids, house_number_key=""):
        street_locations[location.street_id] = location
    numbered_locations = Location.objects.filter(street_id__in=street_ids).exclude(house_number_key="")
    for location_id, street_id in numbered_locations.values_list("pk", "street_id").iterator(chunk_size=5000):
        by_street[street_id][location_id] = {}
    day = data.valid_from
    current = LocationDistrict.objects.filter(
        location__street_id__in=street_ids, valid_from__lte=day
    ).exclude(valid_until__lt=day)
    for location_id, street_id, type_id, district_id in current.values_list(
        "location_id", "location__street_id", "waste_type_id", "district_id"
    ):
        if location_id in by_street[street_id]:
            by_street[street_id][location_id][type_id] = district_id
    districts = District.objects.in_bulk(
        {d for s in by_street.values() for loc in s.values() for d in loc.values()}
    )
    types_by_id = {waste_type.pk: waste_type for waste_type in types.values()}
    streets = Street.objects.in_bulk(street_ids)
    new_street_locations = []
    for street_id in street_ids:
        numbered = list(by_street[street_id].values())
        street = streets[street_id]
        # Only the whole street is known: it is the location.
        shared = numbered[0] if numbered and all(by_type == numbered[0] for by_type in numbered) else None
        needs_number = bool(numbered) and not shared
        if street.needs_house_number != needs_number:
            street.needs_house_number = needs_number
            street.save(update_fields=["needs_house_number", "updated_at"])
        if numbered and shared and street_id not in street_locations:
            location = Location(
                public_id=location_public_id(
                    street_name=street.name, postcode=street.postcode, house_number_key=""
                ),
                street=street,
                house_number="",
                house_number_key="",
            )
            new_street_locations.append(location)
            street_locations[street_id] = location
    Location.objects.bulk_create(new_street_locations)
    summary["locations_created"] += len(new_street_locations)
    if any(location.pk is None for location in new_street_locations):
        street_locations = {
            location.street_id: location
            for location in Location.objects.filter(street_id__in=street_ids, house_number_key="")
        }
    rows: dict[tuple[int, int], list[LocationDistrict]] = defaultdict(list)
    stored_types: dict[int, set[int]] = defaultdict(set)
    for row in LocationDistrict.objects.filter(location__in=list(street_locations.values())):
        rows[(row.location_id, row.waste_type_id)].append(row)
        stored_types[row.location_id].add(row.waste_type_id)
    created: list[LocationDistrict] = []
    updated: list[LocationDistrict] = []
    deleted: list[LocationDistrict] = []
    for street_id, location in street_locations.items():
        numbered = list(by_street[street_id].values())
        if not numbered:
            continue
        shared = (
            numbered[0] if all(districts_by_type == numbered[0] for districts_by_type in numbered) else {}
        )
        for type_id in set(shared) | stored_types[location.pk]:
            shared_district = shared.get(type_id)
            _assignment_set(
                rows=rows[(location.pk, type_id)],
                location=location,
                waste_type=types_by_id[type_id],
                district=districts[shared_district] if shared_district is not None else None,
                valid_from=day,
                created=created,
                updated=updated,
                deleted=deleted,
            )
    _assignments_write(created, updated, deleted)
    summary["streets_without_number_step"] = Street.objects.filter(
        pk__in=street_ids, needs_house_number=False
    ).count()


# --- Planning


def plan_rules_replace(*, rules_file: RulesFile, valid_from: dt.date) -> None:
    """The districts of a rules file get exactly its rules (their earlier rules are replaced)."""
    types = {waste_type.key: waste_type for waste_type in WasteType.objects.all()}
    with transaction.atomic():
        for entry in rules_file.districts:
            district, created = District.objects.get_or_create(
                waste_type=types[entry.type_key],
                code=entry.code,
                defaults={"name": entry.name, "source": DistrictSource.PLAN},
            )
            if not created and entry.name and district.name != entry.name:
                district.name = entry.name
                district.save(update_fields=["name"])
            district.plan_rules.all().delete()
            PlanRule.objects.bulk_create(
                PlanRule(
                    district=district,
                    weekday=rule.weekday,
                    interval_weeks=rule.interval_weeks,
                    anchor_date=rule.anchor_date,
                    valid_from=rule.valid_from,
                    valid_until=rule.valid_until,
                )
                for rule in entry.rules
            )


def waste_year_plan(
    *, year: int, policy: ShiftPolicy, source: str = "", progress: Progress = _no_progress
) -> ImportRun:
    """Plans ``year`` for every district with rules and applies it like an import.

    Dates that meet a holiday are stored ``moved`` with their regular day and the holiday's name; a
    re-planning compares with the stored year, so changed rules or holidays produce ``CollectionChange``s.
    Idempotent: the same rules and policy for the same year change nothing.
    """
    rules_by_district: dict[tuple[str, str], list[Rule]] = defaultdict(list)
    names: dict[tuple[str, str], str] = {}
    for plan_rule in PlanRule.objects.select_related("district__waste_type").order_by("pk"):
        key = (plan_rule.district.waste_type.key, plan_rule.district.code)
        names[key] = plan_rule.district.name
        rules_by_district[key].append(
            Rule(
                plan_rule.weekday,
                plan_rule.interval_weeks,
                plan_rule.anchor_date,
                plan_rule.valid_from,
                plan_rule.valid_until,
            )
        )
    collections: dict[tuple[str, str], dict[dt.date, PlannedCollection]] = {}
    for key, rules in sorted(rules_by_district.items()):
        collections[key] = {
            planned.date: PlannedCollection(
                status=CollectionStatus.MOVED if planned.original_date else CollectionStatus.SCHEDULED,
                original_date=planned.original_date,
                reason=planned.reason,
            )
            for planned in district_year(rules=rules, year=year, policy=policy)
        }
    fingerprint = json.dumps(
        {
            "year": year,
            "rule": policy.rule,
            "local_days": sorted(f"{m:02d}-{d:02d}:{v}" for (m, d), v in policy.local_days.items()),
            "rules": {
                f"{type_key}/{code}": sorted(
                    f"{r.weekday}/{r.interval_weeks}/{r.anchor_date}/{r.valid_from}/{r.valid_until}"
                    for r in rules
                )
                for (type_key, code), rules in sorted(rules_by_district.items())
            },
        },
        sort_keys=True,
    ).encode()
    data = ImportData(
        kind=ImportKind.PLAN,
        source=source or f"plan {year}",
        checksum=checksum_of(fingerprint),
        valid_from=dt.date(year, 1, 1),
        district_source=DistrictSource.PLAN,
        collections=collections,
        district_names=names,
        added_status=CollectionStatus.SCHEDULED,
        span=(dt.date(year, 1, 1), dt.date(year, 12, 31)),
    )
    # Not held for review: a plan follows rules staff set in the workspace, it is no input from outside.
    return import_apply(data=data, progress=progress, hold_implausible=False)


def collections_cancel(*, collections: QuerySet[Collection], reason: str, source: str) -> ImportRun:
    """Cancels collections by hand (e.g. a storm), recorded like an import.

    Each cancelled collection gets a ``CollectionChange`` in one ``manual`` run, and ``collections_changed``
    is sent after commit, so subscribers hear of it as of a re-import. Already cancelled ones are left.
    """
    started_at = timezone.now()
    with transaction.atomic():
        run = ImportRun.objects.create(
            kind=ImportKind.MANUAL, source=source[:1000], status=ImportStatus.SUCCEEDED, started_at=started_at
        )
        rows = list(
            Collection.objects.select_for_update().filter(
                pk__in=collections.values("pk"),
                status__in=[s for s in CollectionStatus.values if s != "cancelled"],
            )
        )
        for row in rows:
            row.status, row.reason, row.import_run, row.updated_at = (
                CollectionStatus.CANCELLED,
                reason[:200],
                run,
                started_at,
            )
            row.sequence += 1
        Collection.objects.bulk_update(rows, ["status", "reason", "import_run", "sequence", "updated_at"])
        CollectionChange.objects.bulk_create(
            CollectionChange(
                collection=row,
                district_id=row.district_id,
                kind=ChangeKind.CANCELLED,
                previous_date=row.date,
                date=row.date,
                import_run=run,
            )
            for row in rows
        )
        run.summary = {"cancelled": len(rows)}
        run.finished_at = timezone.now()
        run.save(update_fields=["summary", "finished_at"])
        if rows:
            transaction.on_commit(lambda: _changes_announce(run))
    return run

"""The comparison of a district's new dates with the stored ones, the heart of a re-import.

Within the span the input speaks for, a date in both is kept, a date gone and a new one within
``MOVE_MAX_DAYS`` are one moved collection, a date gone without a partner is cancelled, a new one without a
partner is added (extra). Each change becomes a ``CollectionChange`` of the run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from waste_calendar.import_data import ImportData, PlannedCollection, Progress
from waste_calendar.models import (
    ChangeKind,
    Collection,
    CollectionChange,
    CollectionStatus,
    District,
    ImportKind,
    ImportRun,
)
from waste_calendar.planning import holiday_name

# A date that disappeared and one that appeared within this distance are one moved collection.
MOVE_MAX_DAYS = 6


@dataclass
class _Diff:
    created: list[Collection] = field(default_factory=list)
    updated: list[Collection] = field(default_factory=list)
    # (collection, kind, previous date, date)
    changes: list[tuple[Collection, str, dt.date | None, dt.date]] = field(default_factory=list)


def _pair_moves(removed: list[dt.date], added: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Nearest first: a date gone and a date new within MOVE_MAX_DAYS are one moved collection."""
    candidates = sorted(
        (abs((new - old).days), old, new)
        for old in removed
        for new in added
        if abs((new - old).days) <= MOVE_MAX_DAYS
    )
    used_old: set[dt.date] = set()
    used_new: set[dt.date] = set()
    pairs = []
    for _distance, old, new in candidates:
        if old not in used_old and new not in used_new:
            used_old.add(old)
            used_new.add(new)
            pairs.append((old, new))
    return pairs


def _district_diff(  # noqa: PLR0912 - each case of a date is a branch
    *,
    district: District,
    planned: dict[dt.date, PlannedCollection],
    stored: dict[dt.date, Collection],
    run: ImportRun,
    added_status: str,
    planned_status_final: bool,
) -> _Diff:
    diff = _Diff()
    had_dates = bool(stored)
    served = {row.pk: (row.date, row.status) for row in stored.values()}
    active = {day for day, row in stored.items() if row.status != CollectionStatus.CANCELLED}
    removed = sorted(active - set(planned))
    added = sorted(set(planned) - set(stored))

    def reason_for(plan: PlannedCollection, regular: dt.date) -> str:
        return plan.reason or holiday_name(regular)

    for day, plan in planned.items():
        row = stored.get(day)
        if row is None:
            continue
        if row.status == CollectionStatus.CANCELLED:
            row.status = plan.status if plan.status != CollectionStatus.CANCELLED else row.status
            row.original_date, row.reason, row.import_run = plan.original_date, plan.reason, run
            diff.updated.append(row)
            diff.changes.append((row, ChangeKind.ADDED, None, day))
        elif (plan.original_date is not None or planned_status_final) and (
            row.status,
            row.original_date,
            row.reason,
        ) != (
            plan.status,
            plan.original_date,
            plan.reason,
        ):
            row.status, row.original_date, row.reason, row.import_run = (
                plan.status,
                plan.original_date,
                plan.reason,
                run,
            )
            diff.updated.append(row)
    paired_new: set[dt.date] = set()
    for old, new in _pair_moves(removed, added) if had_dates else []:
        row = stored[old]
        plan = planned[new]
        regular: dt.date = plan.original_date or (
            row.original_date if row.status == CollectionStatus.MOVED and row.original_date else old
        )
        row.date = new
        row.import_run = run
        if planned_status_final:
            # A plan knows why a date is where it is: a changed rule is no "moved" collection.
            row.status, row.original_date, row.reason = plan.status, plan.original_date, plan.reason
        elif regular == new:
            row.status, row.original_date, row.reason = CollectionStatus.SCHEDULED, None, ""
        else:
            row.status, row.original_date, row.reason = (
                CollectionStatus.MOVED,
                regular,
                reason_for(plan, regular),
            )
        diff.updated.append(row)
        diff.changes.append((row, ChangeKind.MOVED, old, new))
        paired_new.add(new)
        removed.remove(old)
    for old in removed:
        row = stored[old]
        row.status, row.import_run = CollectionStatus.CANCELLED, run
        diff.updated.append(row)
        diff.changes.append((row, ChangeKind.CANCELLED, old, old))
    for day in added:
        if day in paired_new:
            continue
        plan = planned[day]
        status = plan.status
        if had_dates and status == CollectionStatus.SCHEDULED:
            status = added_status
        row = Collection(
            district=district,
            date=day,
            status=status,
            original_date=plan.original_date if status == CollectionStatus.MOVED else None,
            reason=plan.reason,
            import_run=run,
        )
        diff.created.append(row)
        if had_dates:
            diff.changes.append((row, ChangeKind.ADDED, None, day))
    for row in diff.updated:
        if served[row.pk] != (row.date, row.status):
            row.sequence += 1
    return diff


@dataclass
class CollectionsPlan:
    """What applying an import would write: computed by ``collections_compare``, written by
    ``collections_write``; in between, the plausibility guard (``plausibility``) looks at it."""

    created: list[Collection] = field(default_factory=list)
    updated: list[Collection] = field(default_factory=list)
    # (collection, kind, previous date, date)
    changes: list[tuple[Collection, str, dt.date | None, dt.date]] = field(default_factory=list)


def collections_compare(
    *,
    data: ImportData,
    districts: dict[tuple[str, str], District],
    run: ImportRun,
    progress: Progress,
) -> CollectionsPlan:
    """The new dates of every district compared with the stored ones; reads only."""
    total = len(data.collections)
    plan = CollectionsPlan()
    for done, ((type_key, code), planned) in enumerate(sorted(data.collections.items()), start=1):
        district = districts[(type_key, code)]
        if planned:
            if data.span is None:
                in_span = Q(date__gte=min(planned), date__lte=max(planned))
            else:
                first, last = data.span
                in_span = Q(original_date__isnull=True, date__gte=first, date__lte=last) | Q(
                    original_date__gte=first, original_date__lte=last
                )
            # Plus rows on a planned day that belong elsewhere (a shift across the year end meeting the
            # next year's regular day): kept as they are, never a second row on one day.
            stored = {
                row.date: row
                for row in Collection.objects.filter(district=district).filter(
                    in_span | Q(date__in=list(planned))
                )
            }
            diff = _district_diff(
                district=district,
                planned=planned,
                stored=stored,
                run=run,
                added_status=data.added_status,
                planned_status_final=data.kind == ImportKind.PLAN,
            )
            plan.created.extend(diff.created)
            plan.updated.extend(diff.updated)
            plan.changes.extend(diff.changes)
        if done % 50 == 0 or done == total:
            progress(done, total)
    return plan


def collections_write(
    *, plan: CollectionsPlan, run: ImportRun, summary: Counter[str]
) -> list[CollectionChange]:
    """Writes a compared plan and records its changes as ``CollectionChange`` rows of ``run``."""
    created, updated = plan.created, plan.updated
    now = timezone.now()
    for row in updated:
        row.updated_at = now
    Collection.objects.bulk_update(
        updated,
        ["date", "status", "original_date", "reason", "import_run", "sequence", "updated_at"],
        batch_size=2000,
    )
    Collection.objects.bulk_create(created, batch_size=5000)
    if any(row.pk is None for row in created):
        keyed = {
            (row.district_id, row.date): row.pk
            for row in Collection.objects.filter(import_run=run).only("pk", "district_id", "date")
        }
        for row in created:
            row.pk = keyed[(row.district_id, row.date)]
    changes = [
        CollectionChange(
            collection=row,
            district_id=row.district_id,
            kind=kind,
            previous_date=previous,
            date=day,
            import_run=run,
        )
        for row, kind, previous, day in plan.changes
    ]
    CollectionChange.objects.bulk_create(changes, batch_size=2000)
    summary["collections_created"] += len(created)
    summary["collections_updated"] += len(updated)
    kinds = Counter(kind for _row, kind, _previous, _day in plan.changes)
    summary["moved"] += kinds[ChangeKind.MOVED]
    summary["cancelled"] += kinds[ChangeKind.CANCELLED]
    summary["added"] += kinds[ChangeKind.ADDED]
    return changes

"""The plausibility guard of an import: would it cancel or move too much of what is still to come?

A truncated or wrong feed reads like a company that cancelled its collections, and every cancelled or
moved date within the next week is a push to the subscribers. So before an import is written, its
comparison (``comparison.CollectionsPlan``) is measured against each district's future collections: more
than ``WASTE_IMPORT_REVIEW_SHARE`` of them cancelled or moved, or a waste type left without any future
collection, and the import is held for an Administration user to confirm or discard.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Count

from waste_calendar.comparison import CollectionsPlan
from waste_calendar.models import ChangeKind, Collection, CollectionStatus, District

# The review lists at most this many districts, those with the largest share first.
REVIEW_DISTRICTS_SHOWN = 500


@dataclass(frozen=True)
class DistrictImpact:
    """What an import would do to the future collections of one district."""

    type_key: str
    type_name: str
    district: str
    future: int  # collections from today on that take place, before the import
    cancelled: int
    moved: int
    added: int

    @property
    def share(self) -> float:
        return (self.cancelled + self.moved) / self.future if self.future else 0.0


@dataclass
class ImportReview:
    """Why an import is held (empty: it is plausible) and its impact per district."""

    share_limit: float
    today: dt.date
    reasons: list[dict[str, Any]] = field(default_factory=list)
    districts: list[DistrictImpact] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.districts, key=lambda d: (-d.share, d.type_key, d.district))
        return {
            "share_limit": self.share_limit,
            "today": self.today.isoformat(),
            "reasons": self.reasons,
            "districts": [asdict(d) for d in ordered[:REVIEW_DISTRICTS_SHOWN]],
            "districts_affected": len(ordered),
        }


def import_review(
    *, plan: CollectionsPlan, districts: dict[tuple[str, str], District], share_limit: float, today: dt.date
) -> ImportReview:
    """Measures ``plan`` against the stored future collections of its districts (one query)."""
    review = ImportReview(share_limit=share_limit, today=today)
    by_id = {district.pk: district for district in districts.values()}
    future = dict(
        Collection.objects.filter(district_id__in=list(by_id), date__gte=today)
        .exclude(status=CollectionStatus.CANCELLED)
        .values_list("district_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts: dict[int, Counter[str]] = {}
    for row, kind, previous, day in plan.changes:
        # A date that no longer takes place counts when it was still to come; an added one when it is.
        relevant = day if kind == ChangeKind.ADDED else previous
        if relevant is not None and relevant >= today:
            counts.setdefault(row.district_id, Counter())[kind] += 1
    type_before: Counter[str] = Counter()
    type_after: Counter[str] = Counter()
    type_names: dict[str, str] = {}
    for district_id, district in by_id.items():
        kinds = counts.get(district_id, Counter())
        before = future.get(district_id, 0)
        type_key = district.waste_type.key
        type_names[type_key] = district.waste_type.name_de
        type_before[type_key] += before
        type_after[type_key] += before - kinds[ChangeKind.CANCELLED] + kinds[ChangeKind.ADDED]
        if not kinds:
            continue
        impact = DistrictImpact(
            type_key=type_key,
            type_name=district.waste_type.name_de,
            district=district.code,
            future=before,
            cancelled=kinds[ChangeKind.CANCELLED],
            moved=kinds[ChangeKind.MOVED],
            added=kinds[ChangeKind.ADDED],
        )
        review.districts.append(impact)
        if before and impact.share > share_limit:
            review.reasons.append(
                {
                    "reason": "share",
                    "type": type_key,
                    "type_name": impact.type_name,
                    "district": district.code,
                    "changed": impact.cancelled + impact.moved,
                    "future": before,
                }
            )
    review.reasons.extend(
        {"reason": "type_removed", "type": type_key, "type_name": type_names[type_key], "future": before}
        for type_key, before in sorted(type_before.items())
        if before and type_after[type_key] <= 0
    )
    return review


def review_reason_text(reason: dict[str, Any]) -> str:
    """A held run's reason in English (the command line's language)."""
    if reason["reason"] == "type_removed":
        return f"{reason['type_name']}: no future collection would remain (all {reason['future']} cancelled)"
    return (
        f"{reason['type_name']} {reason['district']}: {reason['changed']} of {reason['future']} future "
        "collections cancelled or moved"
    )

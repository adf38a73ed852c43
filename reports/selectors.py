"""Reads of the Mängelmelder worth a name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Prefetch, Q, QuerySet

from push.models import Installation
from reports import geo
from reports.models import (
    OPEN_STATUSES,
    Category,
    CategoryQuestion,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportSupport,
)

# --- app and public

CITY_TIME_ZONE = ZoneInfo("Europe/Berlin")

# What of a report's history its reporter and the public see: when it was filed, each status change and
# the city's public replies. Internal notes, assignments, merges and moderation stay with the staff.
PUBLIC_EVENT_KINDS = (
    ReportEvent.Kind.CREATED,
    ReportEvent.Kind.STATUS,
    ReportEvent.Kind.REPLY,
    ReportEvent.Kind.REROUTED,
)

# A "me too" search covers REPORT_NEARBY_METERS (50 m by default): more than this many open reports of
# one category in that circle would be a data problem, not something to show on a phone.
NEARBY_LIMIT = 20
# The box around the circle is twice as wide; candidates beyond this are not even read.
NEARBY_CANDIDATE_LIMIT = 200


def _visible_photos() -> Prefetch[Any]:
    """Photos the moderators have not removed, of a report not hidden, as ``report.visible_photos``: the
    photos whose public URL answers (``reports.public_photos``); a hidden report's reporter sees none."""
    return Prefetch(
        "photos",
        queryset=ReportPhoto.objects.filter(removed=False, report__hidden=False),
        to_attr="visible_photos",
    )


def _public_events() -> Prefetch[Any]:
    """The public timeline, oldest first, as ``report.public_events``."""
    return Prefetch(
        "events",
        queryset=ReportEvent.objects.filter(is_public=True, kind__in=PUBLIC_EVENT_KINDS).order_by(
            "created_at", "id"
        ),
        to_attr="public_events",
    )


def _with_category(queryset: QuerySet[Report]) -> QuerySet[Report]:
    return queryset.select_related("category", "category__parent")


# Categories


def category_tree() -> list[Category]:
    """Active groups that hold at least one active leaf, each with ``active_leaves`` and their questions.

    Ordered as staff arranged them (``position``, then German name).
    """
    leaves = Category.objects.filter(is_active=True).prefetch_related("questions")
    groups = Category.objects.filter(parent__isnull=True, is_active=True).prefetch_related(
        Prefetch("children", queryset=leaves, to_attr="active_leaves")
    )
    return [group for group in groups if group.active_leaves]


def category_catalogue_changed_at() -> datetime | None:
    """When the category catalogue (groups, leaves, their questions) was last edited, deactivations
    included; None while it is empty. Categories cannot be deleted (they are deactivated) and a question
    removed in the admin saves its category, so every change moves this time."""
    categories = Category.objects.aggregate(changed=Max("updated_at"))["changed"]
    questions = CategoryQuestion.objects.aggregate(changed=Max("updated_at"))["changed"]
    return max((time for time in (categories, questions) if time is not None), default=None)


# The reporter's own reports


def reports_of_reporter(*, installation: Installation) -> QuerySet[Report]:
    """The installation's reports with their visible photos and public timeline (hidden ones included:
    the reporter still sees the state of what they filed)."""
    return _with_category(Report.objects.filter(installation=installation)).prefetch_related(
        _visible_photos(), _public_events()
    )


def report_of_reporter(*, installation: Installation, report_id: int) -> Report | None:
    """One of the installation's reports, or None (also for another installation's report)."""
    return reports_of_reporter(installation=installation).filter(pk=report_id).first()


# "Is it already reported?" and "me too"


@dataclass(frozen=True)
class NearbyReport:
    report: Report
    distance_m: float
    supported_by_me: bool
    reported_by_me: bool


def reports_nearby(
    *, latitude: float, longitude: float, category: Category, installation: Installation
) -> list[NearbyReport]:
    """Open, visible reports of ``category`` (or of its leaves, for a group) within
    ``REPORT_NEARBY_METERS`` of the point, nearest first, at most ``NEARBY_LIMIT``.

    An indexed bounding-box query finds the candidates; the exact great-circle distance decides.
    """
    radius = settings.REPORT_NEARBY_METERS
    min_lat, min_lon, max_lat, max_lon = geo.bbox_around(latitude, longitude, radius)
    candidates = (
        _with_category(
            Report.objects.filter(
                hidden=False,
                status__in=OPEN_STATUSES,
                latitude__range=(min_lat, max_lat),
                longitude__range=(min_lon, max_lon),
            ).filter(Q(category=category) | Q(category__parent=category))
        )
        .annotate(
            supported_by_me=Exists(
                ReportSupport.objects.filter(report=OuterRef("pk"), installation=installation)
            )
        )
        .prefetch_related(_visible_photos())
        .order_by("-created_at")[:NEARBY_CANDIDATE_LIMIT]
    )
    found = []
    for report in candidates:
        distance = geo.distance_m(latitude, longitude, report.latitude, report.longitude)
        if distance <= radius:
            found.append(
                NearbyReport(
                    report=report,
                    distance_m=round(distance, 1),
                    supported_by_me=bool(report.supported_by_me),
                    reported_by_me=report.installation_id == installation.pk,
                )
            )
    found.sort(key=lambda nearby: (nearby.distance_m, nearby.report.pk))
    return found[:NEARBY_LIMIT]


def report_to_support(*, report_id: int) -> Report | None:
    """A report that may be looked at for a "me too" (not hidden), or None."""
    return Report.objects.filter(pk=report_id, hidden=False).first()


# Open data


@dataclass(frozen=True)
class BoundingBox:
    min_longitude: float
    min_latitude: float
    max_longitude: float
    max_latitude: float


def reports_public(
    *,
    bbox: BoundingBox | None = None,
    statuses: Sequence[str] = (),
    category: Category | None = None,
    stadtteil: str = "",
    updated_since: datetime | None = None,
    also_hidden: Q | None = None,
) -> QuerySet[Report]:
    """Reports as the public may see them: never hidden ones; photos without the removed ones.

    ``category`` may be a leaf or a group (then all its leaves); ``updated_since`` is inclusive.
    ``also_hidden`` admits hidden reports that match it (a partner's own, see ``reports.open311``).
    Contact data and the installation link are still on the rows: the public serializers leave them out.
    """
    queryset = _public_filtered(
        bbox=bbox,
        statuses=statuses,
        category=category,
        stadtteil=stadtteil,
        updated_since=updated_since,
        also_hidden=also_hidden,
    )
    return _with_category(queryset).prefetch_related(_visible_photos())


# The columns of a public report row: the public fields of ``PublicReportSerializer`` (the schema) and
# what its labels are made of. Nothing private can reach a row that is not named here.
PUBLIC_REPORT_COLUMNS = (
    "id",
    "category__key",
    "category__name_de",
    "category__name_en",
    "category__name_tr",
    "category__parent__key",
    "status",
    "description",
    "address",
    "stadtteil",
    "latitude",
    "longitude",
    "support_count",
    "duplicate_of_id",
    "forwarded_to",
    "created_at",
    "updated_at",
    "closed_at",
)


@dataclass(frozen=True)
class PublicPhoto:
    public_id: str
    content_hash: str
    width: int
    height: int


def report_public_rows(
    *,
    bbox: BoundingBox | None = None,
    statuses: Sequence[str] = (),
    category: Category | None = None,
    stadtteil: str = "",
    updated_since: datetime | None = None,
) -> QuerySet[Report, dict[str, Any]]:
    """The reports of ``reports_public`` as dictionaries of ``PUBLIC_REPORT_COLUMNS``, for the list
    and the exports: a page of 50 model instances with their categories and photos costs several times
    the SQL in Python. Photos come from ``public_photos`` for the rows actually read."""
    queryset = _public_filtered(
        bbox=bbox, statuses=statuses, category=category, stadtteil=stadtteil, updated_since=updated_since
    )
    rows: QuerySet[Report, dict[str, Any]] = queryset.values(*PUBLIC_REPORT_COLUMNS)
    return rows


def public_photos(*, report_ids: Sequence[int]) -> dict[int, list[PublicPhoto]]:
    """The photos the moderators have not removed of these reports, by report id, in their order
    (what their public URLs are made of, ``reports.public_photos``). One query."""
    photos: dict[int, list[PublicPhoto]] = {}
    if not report_ids:
        return photos
    rows = (
        ReportPhoto.objects.filter(report_id__in=report_ids, removed=False)
        .order_by("position", "id")
        .values_list("report_id", "public_id", "content_hash", "width", "height")
    )
    for report_id, public_id, content_hash, width, height in rows:
        photos.setdefault(report_id, []).append(PublicPhoto(public_id, content_hash, width, height))
    return photos


def _public_filtered(
    *,
    bbox: BoundingBox | None,
    statuses: Sequence[str],
    category: Category | None,
    stadtteil: str,
    updated_since: datetime | None,
    also_hidden: Q | None = None,
) -> QuerySet[Report]:
    visible = Q(hidden=False) if also_hidden is None else Q(hidden=False) | also_hidden
    queryset = Report.objects.filter(visible)
    if bbox is not None:
        queryset = queryset.filter(
            latitude__range=(bbox.min_latitude, bbox.max_latitude),
            longitude__range=(bbox.min_longitude, bbox.max_longitude),
        )
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if category is not None:
        queryset = queryset.filter(Q(category=category) | Q(category__parent=category))
    if stadtteil:
        queryset = queryset.filter(stadtteil=stadtteil)
    if updated_since is not None:
        queryset = queryset.filter(updated_at__gte=updated_since)
    return queryset


def report_public(*, report_id: int) -> Report | None:
    """One visible report with its photos and public timeline, or None (unknown or hidden)."""
    return reports_public().prefetch_related(_public_events()).filter(pk=report_id).first()


# The live screen in city hall

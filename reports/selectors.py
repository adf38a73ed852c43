"""Reads of the Mängelmelder worth a name."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from casapp.city import STADTTEILE
from push.models import Installation
from reports import geo
from reports.models import (
    OPEN_STATUSES,
    Category,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
    ReportSupport,
)

# --- app and public

CITY_TIME_ZONE = ZoneInfo("Europe/Berlin")

# What of a report's history its reporter and the public see: when it was filed, each status change and
# the city's public replies. Internal notes, assignments, merges and moderation stay with the staff.
PUBLIC_EVENT_KINDS = (ReportEvent.Kind.CREATED, ReportEvent.Kind.STATUS, ReportEvent.Kind.REPLY)

# A "me too" search covers REPORT_NEARBY_METERS (50 m by default): more than this many open reports of
# one category in that circle would be a data problem, not something to show on a phone.
NEARBY_LIMIT = 20
# The box around the circle is twice as wide; candidates beyond this are not even read.
NEARBY_CANDIDATE_LIMIT = 200

STATS_DAYS = 30
STATS_DURATION_DAYS = 90
# The medians are computed in Python (portable across SQLite and PostgreSQL); a city of 75,000 people
# closes a few thousand reports a quarter, this bound only keeps a flood from costing memory.
STATS_DURATION_SAMPLE_LIMIT = 50_000


def _visible_photos() -> Prefetch[Any]:
    """Photos the moderators have not removed, as ``report.visible_photos``."""
    return Prefetch("photos", queryset=ReportPhoto.objects.filter(removed=False), to_attr="visible_photos")


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
) -> QuerySet[Report]:
    """Reports as the public may see them: never hidden ones; photos without the removed ones.

    ``category`` may be a leaf or a group (then all its leaves); ``updated_since`` is inclusive.
    Contact data and the installation link are still on the rows: the public serializers leave them out.
    """
    queryset = _public_filtered(
        bbox=bbox, statuses=statuses, category=category, stadtteil=stadtteil, updated_since=updated_since
    )
    return _with_category(queryset).prefetch_related(_visible_photos())


# The columns of a public report row: the public fields of ``PublicReportSerializer`` (the schema) and
# what its labels are made of. Nothing private can reach a row that is not named here.
PUBLIC_REPORT_COLUMNS = (
    "id",
    "category__key",
    "category__name_de",
    "category__name_en",
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
    image: str
    thumbnail: str
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
    (file names as stored; the storage makes URLs of them). One query."""
    photos: dict[int, list[PublicPhoto]] = {}
    if not report_ids:
        return photos
    rows = (
        ReportPhoto.objects.filter(report_id__in=report_ids, removed=False)
        .order_by("position", "id")
        .values_list("report_id", "image", "thumbnail", "width", "height")
    )
    for report_id, image, thumbnail, width, height in rows:
        photos.setdefault(report_id, []).append(PublicPhoto(image, thumbnail, width, height))
    return photos


def _public_filtered(
    *,
    bbox: BoundingBox | None,
    statuses: Sequence[str],
    category: Category | None,
    stadtteil: str,
    updated_since: datetime | None,
) -> QuerySet[Report]:
    queryset = Report.objects.filter(hidden=False)
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


@dataclass(frozen=True)
class CategoryCount:
    category: Category
    total: int
    open: int


@dataclass(frozen=True)
class StadtteilCount:
    stadtteil: str | None
    total: int
    open: int


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class ReportStats:
    generated_at: datetime
    total_count: int
    open_count: int
    by_status: list[tuple[str, int]]
    by_category: list[CategoryCount]
    by_stadtteil: list[StadtteilCount]
    per_day: list[DayCount]
    closed_recently_count: int
    median_hours_to_first_response: float | None
    median_hours_to_resolution: float | None


def report_stats(*, now: datetime) -> ReportStats:
    """Counts over all visible reports and the city's response times.

    - ``by_status``: every status, in workflow order, zeros included.
    - ``by_category``: leaf categories with at least one report, most reports first.
    - ``by_stadtteil``: every Stadtteil, zeros included; reports outside every imported polygon under None
      (only when there are any).
    - ``per_day``: reports filed per calendar day in Europe/Berlin, the last ``STATS_DAYS`` days up to
      and including today, zeros included.
    - The medians (hours) are over reports the city closed in the last ``STATS_DURATION_DAYS`` days:
      withdrawn reports are left out, as the reporter closed them. First response is the first staff
      status change or reply; resolution is the closing.
    """
    visible = Report.objects.filter(hidden=False)
    is_open = Q(status__in=OPEN_STATUSES)

    status_counts = dict(visible.values_list("status").annotate(count=Count("id")).order_by())
    by_status = [(status.value, status_counts.get(status.value, 0)) for status in ReportStatus]

    category_rows = (
        visible.values("category")
        .annotate(total=Count("id"), open=Count("id", filter=is_open))
        .order_by("-total", "category")
    )
    categories = Category.objects.in_bulk([row["category"] for row in category_rows])
    by_category = [
        CategoryCount(category=categories[row["category"]], total=row["total"], open=row["open"])
        for row in category_rows
    ]

    stadtteil_rows = {
        row["stadtteil"]: row
        for row in visible.values("stadtteil")
        .annotate(total=Count("id"), open=Count("id", filter=is_open))
        .order_by()
    }
    by_stadtteil = [
        StadtteilCount(
            stadtteil=name,
            total=stadtteil_rows.get(name, {}).get("total", 0),
            open=stadtteil_rows.get(name, {}).get("open", 0),
        )
        for name in STADTTEILE
    ]
    if unknown := stadtteil_rows.get(""):
        by_stadtteil.append(StadtteilCount(stadtteil=None, total=unknown["total"], open=unknown["open"]))

    today = now.astimezone(CITY_TIME_ZONE).date()
    first_day = today - timedelta(days=STATS_DAYS - 1)
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=CITY_TIME_ZONE)
    day_counts = dict(
        visible.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=CITY_TIME_ZONE))
        .values_list("day")
        .annotate(count=Count("id"))
        .order_by()
    )
    per_day = [
        DayCount(
            day=first_day + timedelta(days=offset), count=day_counts.get(first_day + timedelta(offset), 0)
        )
        for offset in range(STATS_DAYS)
    ]

    closed_recently = list(
        visible.filter(closed_at__gte=now - timedelta(days=STATS_DURATION_DAYS), closed_at__isnull=False)
        .exclude(status=ReportStatus.WITHDRAWN)
        .order_by("-closed_at")
        .values_list("created_at", "first_response_at", "closed_at")[:STATS_DURATION_SAMPLE_LIMIT]
    )
    to_first_response = [
        _hours(first - created) for created, first, _ in closed_recently if first is not None
    ]
    to_resolution = [_hours(closed - created) for created, _, closed in closed_recently if closed is not None]

    return ReportStats(
        generated_at=now,
        total_count=sum(status_counts.values()),
        open_count=sum(status_counts.get(status.value, 0) for status in OPEN_STATUSES),
        by_status=by_status,
        by_category=by_category,
        by_stadtteil=by_stadtteil,
        per_day=per_day,
        closed_recently_count=len(closed_recently),
        median_hours_to_first_response=_median(to_first_response),
        median_hours_to_resolution=_median(to_resolution),
    )


def _hours(duration: timedelta) -> float:
    return duration.total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


# --- staff

# Sees and changes every report, whatever the department (superusers too).
ALL_REPORTS_GROUP = "Administration"
TRIAGE_GROUP = "Triage"

# The queue's sort keys and their orderings; the id breaks ties so cursor pages never overlap.
QUEUE_ORDERINGS: dict[str, tuple[str, str]] = {
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "support_count": ("support_count", "id"),
    "-support_count": ("-support_count", "-id"),
}
DEFAULT_QUEUE_ORDERING = "-created_at"
# A report number longer than this is no report number (and would overflow the database integer).
MAX_REPORT_NUMBER_DIGITS = 15

Assigned = Literal["me", "none"] | int


def staff_sees_all_reports(user: Any) -> bool:
    return bool(user.is_superuser or user.groups.filter(name=ALL_REPORTS_GROUP).exists())


def reports_for_staff(user: Any) -> QuerySet[Report]:
    """The reports ``user`` may see and change: every report for superusers and Administration, those
    whose category's department has ``user`` as a member for everyone else (Triage), none for anyone
    who is not active staff. The one place department scoping is decided (staff API and admin)."""
    reports = Report.objects.all()
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return reports.none()
    if staff_sees_all_reports(user):
        return reports
    return reports.filter(category__department__members=user)


def _has_photo() -> Exists:
    """The report has at least one photo that was not removed by moderation."""
    return Exists(ReportPhoto.objects.filter(report=OuterRef("pk"), removed=False))


def reports_with_photo_flag(reports: QuerySet[Report]) -> QuerySet[Report]:
    """Annotates ``has_photo`` (see ``_has_photo``)."""
    return reports.annotate(has_photo=_has_photo())


def reports_by_photo(reports: QuerySet[Report], *, has_photo: bool) -> QuerySet[Report]:
    return reports.filter(_has_photo() if has_photo else ~_has_photo())


def reports_matching(reports: QuerySet[Report], text: str) -> QuerySet[Report]:
    """Each word must occur in the description or the address, or be the report's number (``#12``)."""
    for term in text.split():
        condition = Q(description__icontains=term) | Q(address__icontains=term)
        number = term.removeprefix("#")
        if number.isdigit() and len(number) <= MAX_REPORT_NUMBER_DIGITS:
            condition |= Q(pk=int(number))
        reports = reports.filter(condition)
    return reports


def reports_staff_queue(
    *,
    user: Any,
    statuses: Sequence[str] | None = None,
    category_key: str | None = None,
    department_key: str | None = None,
    stadtteil: str | None = None,
    older_than_days: int | None = None,
    newer_than_days: int | None = None,
    assigned: Assigned | None = None,
    has_photo: bool | None = None,
    hidden: bool | None = None,
    search: str = "",
    now: datetime | None = None,
) -> QuerySet[Report]:
    """The triage queue of ``user``: their reports (see ``reports_for_staff``), narrowed by each filter
    that is given. Unordered; the caller orders by one of ``QUEUE_ORDERINGS``."""
    now = now or timezone.now()
    reports = reports_with_photo_flag(reports_for_staff(user)).select_related(
        "category__department", "assigned_to"
    )
    if statuses:
        reports = reports.filter(status__in=statuses)
    if category_key:
        reports = reports.filter(category__key=category_key)
    if department_key:
        reports = reports.filter(category__department__key=department_key)
    if stadtteil:
        reports = reports.filter(stadtteil=stadtteil)
    if older_than_days is not None:
        reports = reports.filter(created_at__lte=now - timedelta(days=older_than_days))
    if newer_than_days is not None:
        reports = reports.filter(created_at__gte=now - timedelta(days=newer_than_days))
    if assigned == "me":
        reports = reports.filter(assigned_to=user)
    elif assigned == "none":
        reports = reports.filter(assigned_to__isnull=True)
    elif assigned is not None:
        reports = reports.filter(assigned_to_id=assigned)
    if has_photo is not None:
        reports = reports_by_photo(reports, has_photo=has_photo)
    if hidden is not None:
        reports = reports.filter(hidden=hidden)
    if search:
        reports = reports_matching(reports, search)
    return reports


def reports_for_staff_detail(user: Any) -> QuerySet[Report]:
    """``reports_for_staff`` with everything the detail shows: photos (removed ones too), the whole
    history with its actors, the assignee and the original of a duplicate."""
    return (
        reports_with_photo_flag(reports_for_staff(user))
        .select_related("category__department", "assigned_to", "duplicate_of")
        .prefetch_related(
            Prefetch("photos", queryset=ReportPhoto.objects.order_by("position", "id")),
            Prefetch(
                "events",
                queryset=ReportEvent.objects.select_related("actor", "redacted_by").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch("duplicates", queryset=Report.objects.only("id", "duplicate_of_id").order_by("id")),
        )
    )


def report_assignees(*, report: Report) -> QuerySet[User]:
    """Who ``report`` can be assigned to: active staff who may work on it, i.e. superusers, Administration,
    and Triage staff who are members of the department of its category."""
    department_id = report.category.department_id
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__name=ALL_REPORTS_GROUP)
            | Q(groups__name=TRIAGE_GROUP, report_departments=department_id)
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )

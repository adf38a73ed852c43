"""The Mängelmelder's public statistics: counts by status, category, Stadtteil and day, and how long
reports take to be answered and closed."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import (
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncDate

from casapp.city import STADTTEILE
from reports.models import (
    OPEN_STATUSES,
    Category,
    District,
    Report,
    ReportEvent,
    ReportStatus,
)
from reports.selectors import CITY_TIME_ZONE

STATS_DAYS = 30
STATS_DURATION_DAYS = 90
# The medians are computed in Python (portable across SQLite and PostgreSQL); a city of 75,000 people
# closes a few thousand reports a quarter, this bound only keeps a flood from costing memory.
STATS_DURATION_SAMPLE_LIMIT = 50_000


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
    stadtteile_available: bool
    by_stadtteil: list[StadtteilCount]
    per_day: list[DayCount]
    closed_recently_count: int
    resolved_recently_count: int
    first_responses_recently_count: int
    median_hours_to_first_response: float | None
    median_hours_to_resolution: float | None


def report_stats(*, now: datetime) -> ReportStats:
    """Counts over all visible reports and the city's response times.

    - ``by_status``: every status, in workflow order, zeros included.
    - ``by_category``: leaf categories with at least one report, most reports first.
    - ``by_stadtteil``: only when Stadtteil polygons are imported (``stadtteile_available``), else empty:
      without them every report is in no Stadtteil. Each Stadtteil with a polygon or with reports, zeros
      included; reports outside every polygon under None (only when there are any).
    - ``per_day``: reports filed per calendar day in Europe/Berlin, the last ``STATS_DAYS`` days up to
      and including today, zeros included.
    - ``closed_recently_count``: reports the city closed in the last ``STATS_DURATION_DAYS`` days, in any
      closed status but withdrawn (the reporter closed those).
    - ``median_hours_to_resolution``: filing to closing, over the reports resolved (done) in the last
      ``STATS_DURATION_DAYS`` days (``resolved_recently_count``); rejected, duplicate, forwarded and
      withdrawn reports were closed, not resolved.
    - ``median_hours_to_first_response``: filing to the first public staff reaction of any kind (a status
      change, a reply, a forwarding to another category), over the reports whose first reaction was in
      the last ``STATS_DURATION_DAYS`` days, in any status (``first_responses_recently_count``).
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

    stadtteile_available = District.objects.exists()
    by_stadtteil = _by_stadtteil(visible, is_open=is_open) if stadtteile_available else []

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

    since = now - timedelta(days=STATS_DURATION_DAYS)
    closed_recently_count = (
        visible.filter(closed_at__gte=since).exclude(status=ReportStatus.WITHDRAWN).count()
    )
    resolved = list(
        visible.filter(status=ReportStatus.DONE, closed_at__gte=since)
        .order_by("-closed_at")
        .values_list("created_at", "closed_at")[:STATS_DURATION_SAMPLE_LIMIT]
    )
    to_resolution = [_hours(closed - created) for created, closed in resolved if closed is not None]
    to_first_response = _hours_to_first_reaction(visible, since=since)

    return ReportStats(
        generated_at=now,
        total_count=sum(status_counts.values()),
        open_count=sum(status_counts.get(status.value, 0) for status in OPEN_STATUSES),
        by_status=by_status,
        by_category=by_category,
        stadtteile_available=stadtteile_available,
        by_stadtteil=by_stadtteil,
        per_day=per_day,
        closed_recently_count=closed_recently_count,
        resolved_recently_count=len(to_resolution),
        first_responses_recently_count=len(to_first_response),
        median_hours_to_first_response=_median(to_first_response),
        median_hours_to_resolution=_median(to_resolution),
    )


def _by_stadtteil(visible: QuerySet[Report], *, is_open: Q) -> list[StadtteilCount]:
    rows = {
        row["stadtteil"]: row
        for row in visible.values("stadtteil")
        .annotate(total=Count("id"), open=Count("id", filter=is_open))
        .order_by()
    }
    # A Stadtteil whose polygon is not imported would show a zero that only means "not looked up".
    loaded = set(District.objects.values_list("name", flat=True))
    counts = [
        StadtteilCount(
            stadtteil=name,
            total=rows[name]["total"] if name in rows else 0,
            open=rows[name]["open"] if name in rows else 0,
        )
        for name in STADTTEILE
        if name in loaded or name in rows
    ]
    if unknown := rows.get(""):
        counts.append(StadtteilCount(stadtteil=None, total=unknown["total"], open=unknown["open"]))
    return counts


def _hours_to_first_reaction(visible: QuerySet[Report], *, since: datetime) -> list[float]:
    """Hours from filing to the first public staff reaction, for the reports first answered since
    ``since``. ``first_response_at`` holds the first staff status change or reply; forwarding to another
    category does not set it (the new department still owes its answer, see ``report_reroute``), but the
    reporter saw the city act, so it counts here."""
    first_reroute = Subquery(
        ReportEvent.objects.filter(report=OuterRef("pk"), kind=ReportEvent.Kind.REROUTED, is_public=True)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    rows = (
        visible.annotate(first_reroute=first_reroute)
        .filter(Q(first_response_at__gte=since) | Q(first_reroute__gte=since))
        .order_by("-id")
        .values_list("created_at", "first_response_at", "first_reroute")[:STATS_DURATION_SAMPLE_LIMIT]
    )
    hours = []
    for created, first_response, first_reroute_at in rows:
        first = min(moment for moment in (first_response, first_reroute_at) if moment is not None)
        if first >= since:
            hours.append(_hours(first - created))
    return hours


def _hours(duration: timedelta) -> float:
    return duration.total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None

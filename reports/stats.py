"""The Mängelmelder's public statistics: counts by status, category, Stadtteil and day, and how long
reports take to be answered and closed."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from casapp.city import STADTTEILE
from reports.models import (
    OPEN_STATUSES,
    Category,
    Report,
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

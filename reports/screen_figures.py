"""The figures of the city-hall screen (``/bildschirm/``, reports.screen): what is current, read from
bounded index ranges and, on PostgreSQL, the open-report counters, so the cost follows what is current,
not how many reports the city has ever had."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, Least

from reports.models import (
    OPEN_STATUSES,
    Category,
    District,
    OpenReportCount,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
)
from reports.public_photos import photo_thumbnail_path
from reports.selectors import CITY_TIME_ZONE
from reports.stats import STATS_DURATION_DAYS

SCREEN_NEWEST = 10
SCREEN_RESOLVED_LINE = 8
SCREEN_RESOLVED_DAYS = 7
# Enough points for a city map (a city has a few hundred current reports); more would be clustered into
# the same circles anyway, and only make every screen's answer larger.
SCREEN_POINT_LIMIT = 2_000
# Open reports by age in whole days since filing: under 2, 2-7, 8-30, older.
SCREEN_AGE_BOUNDS = (("under_2_days", 0, 2), ("2_to_7_days", 2, 8), ("8_to_30_days", 8, 31))
# "Bahnhofstraße 12a, 44575 Castrop-Rauxel" -> "Bahnhofstraße": the street is enough on a public screen.
_HOUSE_NUMBER = re.compile(r"\s+\d+\s*[a-zA-Z]?(\s*[-/]\s*\d+\s*[a-zA-Z]?)?$")


@dataclass(frozen=True)
class ScreenReport:
    id: int
    category: Category
    place: str
    created_at: datetime
    thumbnail: str


@dataclass(frozen=True)
class ScreenResolved:
    id: int
    category: Category
    place: str
    days: int


@dataclass(frozen=True)
class ScreenPoint:
    id: int
    latitude: float
    longitude: float
    status: str


@dataclass(frozen=True)
class ScreenMedians:
    """The medians in days (``None`` without sample): the slow figures of a screen, computed apart from the
    others because they cost most and move least (``reports.screen.screen_medians``)."""

    to_first_response_30: float | None
    to_first_response_90: float | None
    to_resolution_30: float | None
    to_resolution_90: float | None


@dataclass(frozen=True)
class ScreenSummary:
    generated_at: datetime
    today_count: int
    week_count: int
    open_count: int
    resolved_last_7_days_count: int
    open_by_category: list[tuple[Category, int]]
    open_by_age: list[tuple[str, int]]
    medians: ScreenMedians
    stadtteile_available: bool
    newest: list[ScreenReport]
    recently_resolved: list[ScreenResolved]
    points: list[ScreenPoint]


def screen_place(*, address: str, stadtteil: str) -> str:
    """The street of an address without house number and postcode, else the Stadtteil, else ""."""
    street = _HOUSE_NUMBER.sub("", address.split(",", maxsplit=1)[0].strip())
    return street or stadtteil


def screen_summary(
    *,
    now: datetime,
    stadtteil: str = "",
    categories: Sequence[Category] = (),
    medians: Callable[[], ScreenMedians] | None = None,
) -> ScreenSummary:
    """What a screen in city hall shows, of the visible reports in ``stadtteil`` and ``categories`` (leaf
    or group keys; all when empty). Only what the open data publishes: no description, no contact data,
    thumbnails only of photos the moderators have not removed.

    - ``today_count``/``week_count``: filed since midnight / since Monday midnight, Europe/Berlin.
    - ``resolved_last_7_days_count``: resolved (done) in the last 7 days.
    - ``open_by_age``: open reports by whole days since filing (``SCREEN_AGE_BOUNDS``, then ``older``).
    - the medians (``screen_medians``; ``medians`` may answer them from elsewhere, e.g. a cache): as in
      ``report_stats`` (first public staff reaction; filing to done), over the
      reports answered / resolved in the last 30 and 90 days, in days; exact, not sampled.
    - ``points``: open reports and those closed in the last 7 days, newest first (``SCREEN_POINT_LIMIT``).

    Every query reads a bounded range of an index (recent filings, recent closings, recent first
    responses, open reports) or, on PostgreSQL, the open-report counters (``OpenReportCount``) rather
    than the whole history, so the cost follows what is current, not how many reports the city has ever
    had (docs/benchmarks.md: a million reports).
    """
    with _screen_snapshot():
        return _screen_summary(
            now=now,
            stadtteil=stadtteil,
            categories=categories,
            medians=medians or (lambda: screen_medians(now=now, stadtteil=stadtteil, categories=categories)),
        )


def screen_medians(
    *, now: datetime, stadtteil: str = "", categories: Sequence[Category] = ()
) -> ScreenMedians:
    """The screen's medians over 30 and 90 days (see ``screen_summary``): two ordered-set aggregates over
    the recent first responses and resolutions, most of a summary's cost."""
    visible, _open_counts = _screen_reports(stadtteil=stadtteil, categories=categories)
    periods = {days: now - timedelta(days=days) for days in (30, STATS_DURATION_DAYS)}
    longest = periods[STATS_DURATION_DAYS]
    with _screen_snapshot():
        to_first_response = _median_days_by_period(
            _first_reactions(visible, since=longest), moment="first_reaction", periods=periods
        )
        to_resolution = _median_days_by_period(
            visible.filter(status=ReportStatus.DONE, closed_at__gte=longest).annotate(
                duration=_since_filing("closed_at")
            ),
            moment="closed_at",
            periods=periods,
        )
    return ScreenMedians(
        to_first_response_30=to_first_response[30],
        to_first_response_90=to_first_response[STATS_DURATION_DAYS],
        to_resolution_30=to_resolution[30],
        to_resolution_90=to_resolution[STATS_DURATION_DAYS],
    )


@contextmanager
def _screen_snapshot() -> Iterator[None]:
    """One snapshot for all figures. On PostgreSQL without JIT: its compilation, triggered by the planner's
    cost estimates of the median queries, took 1-2 s for queries that run in milliseconds. And on one
    core: parallel workers cost more CPU than they save on a busy server, for a computation done once per
    window in the background of the screens' polls."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def _screen_reports(
    *, stadtteil: str, categories: Sequence[Category]
) -> tuple[QuerySet[Report], QuerySet[OpenReportCount]]:
    """The visible reports of a screen's Stadtteil and categories, and the open-report counters of the
    same (kept on PostgreSQL only)."""
    visible = Report.objects.filter(hidden=False)
    # On PostgreSQL the open reports are counted by the triggers that keep OpenReportCount.
    open_counts = OpenReportCount.objects.all()
    if stadtteil:
        visible = visible.filter(stadtteil=stadtteil)
        open_counts = open_counts.filter(stadtteil=stadtteil)
    if categories:
        # The leaves as a list of ids: a filter the indexes of open, resolved and answered reports serve.
        chosen = [category.pk for category in categories]
        leaves = list(
            Category.objects.filter(Q(pk__in=chosen) | Q(parent__in=chosen)).values_list("pk", flat=True)
        )
        visible = visible.filter(category__in=leaves)
        open_counts = open_counts.filter(category__in=leaves)
    return visible, open_counts


def _screen_summary(
    *,
    now: datetime,
    stadtteil: str,
    categories: Sequence[Category],
    medians: Callable[[], ScreenMedians],
) -> ScreenSummary:
    visible, open_counts = _screen_reports(stadtteil=stadtteil, categories=categories)
    is_open = Q(status__in=OPEN_STATUSES)
    local_now = now.astimezone(CITY_TIME_ZONE)
    midnight = datetime.combine(local_now.date(), datetime.min.time(), tzinfo=CITY_TIME_ZONE)
    monday = midnight - timedelta(days=local_now.weekday())
    recent = now - timedelta(days=SCREEN_RESOLVED_DAYS)

    # The young open reports and this week's filings: the last month of filings, by created_at.
    age_filters = {
        name: Q(created_at__lte=now - timedelta(days=low), created_at__gt=now - timedelta(days=high))
        for name, low, high in SCREEN_AGE_BOUNDS
    }
    young = now - timedelta(days=SCREEN_AGE_BOUNDS[-1][2])
    counts = visible.filter(created_at__gt=min(young, monday)).aggregate(
        today=Count("id", filter=Q(created_at__gte=midnight)),
        week=Count("id", filter=Q(created_at__gte=monday)),
        **{f"age_{name}": Count("id", filter=is_open & age) for name, age in age_filters.items()},
    )
    # Every open report by category: on PostgreSQL the sums of a few hundred counters; elsewhere counted
    # from the partial index of open reports (report_open_idx) alone: Count("*"), since counting "id"
    # would read each row from the table.
    category_rows: list[dict[str, int]] = list(
        open_counts.order_by().values("category").annotate(open=Sum("open_count")).filter(open__gt=0)
        if connection.vendor == "postgresql"
        else visible.filter(is_open).order_by().values("category").annotate(open=Count("*"))
    )
    category_rows.sort(key=lambda row: (-row["open"], row["category"]))
    category_by_id = Category.objects.in_bulk([row["category"] for row in category_rows])
    open_by_category = [(category_by_id[row["category"]], row["open"]) for row in category_rows]
    open_count = sum(count for _category, count in open_by_category)
    young_counts = [(name, counts[f"age_{name}"]) for name, _, _ in SCREEN_AGE_BOUNDS]
    open_by_age = [*young_counts, ("older", open_count - sum(count for _name, count in young_counts))]

    resolved_recently = visible.filter(status=ReportStatus.DONE, closed_at__gte=recent)
    newest_reports = list(visible.select_related("category").order_by("-created_at", "-id")[:SCREEN_NEWEST])
    thumbnails: dict[int, str] = {}
    for photo in ReportPhoto.objects.filter(report__in=newest_reports, removed=False).order_by(
        "-position", "-id"
    ):
        thumbnails[photo.report_id] = photo_thumbnail_path(photo)  # the first one wins: reversed order
    newest = [
        ScreenReport(
            id=report.pk,
            category=report.category,
            place=screen_place(address=report.address, stadtteil=report.stadtteil),
            created_at=report.created_at,
            thumbnail=thumbnails.get(report.pk, ""),
        )
        for report in newest_reports
    ]
    recently_resolved = [
        ScreenResolved(
            id=report.pk,
            category=report.category,
            place=screen_place(address=report.address, stadtteil=report.stadtteil),
            days=(report.closed_at - report.created_at).days if report.closed_at else 0,
        )
        for report in resolved_recently.select_related("category").order_by("-closed_at", "-id")[
            :SCREEN_RESOLVED_LINE
        ]
    ]
    # Open reports (their partial index) and the recently closed (closed_at), the newest first.
    points = [
        ScreenPoint(id=pk, latitude=float(latitude), longitude=float(longitude), status=status)
        for pk, latitude, longitude, status in visible.filter(is_open | Q(closed_at__gte=recent))
        .order_by("-created_at", "-id")
        .values_list("id", "latitude", "longitude", "status")[:SCREEN_POINT_LIMIT]
    ]

    return ScreenSummary(
        generated_at=now,
        # Reports get their Stadtteil from the polygons: without them, a screen of one Stadtteil is empty.
        stadtteile_available=District.objects.exists(),
        today_count=counts["today"],
        week_count=counts["week"],
        open_count=open_count,
        resolved_last_7_days_count=resolved_recently.count(),
        open_by_category=open_by_category,
        open_by_age=open_by_age,
        medians=medians(),
        newest=newest,
        recently_resolved=recently_resolved,
        points=points,
    )


def _first_reactions(visible: QuerySet[Report], *, since: datetime) -> QuerySet[Report]:
    """The reports whose first public staff reaction (``first_response_at`` or the first public
    forwarding, as in ``_hours_to_first_reaction``) was since ``since``, annotated with
    ``first_reaction`` and the ``duration`` from filing to it.

    Read from index ranges only: first responses since ``since`` and public forwardings. Forwarding is
    rare, so the reports that have one among the candidates are looked up first, and only for those the
    first forwarding is read per report."""
    reroutes = ReportEvent.objects.filter(kind=ReportEvent.Kind.REROUTED, is_public=True)
    rerouted = sorted(
        set(
            reroutes.filter(Q(created_at__gte=since) | Q(report__first_response_at__gte=since)).values_list(
                "report_id", flat=True
            )
        )
    )
    rerouted_since = reroutes.filter(created_at__gte=since).values_list("report_id", flat=True)
    candidates = visible.filter(Q(first_response_at__gte=since) | Q(pk__in=list(rerouted_since)))
    if not rerouted:
        return candidates.annotate(
            first_reaction=F("first_response_at"), duration=_since_filing("first_response_at")
        )
    first_reroute = Case(
        When(
            pk__in=rerouted,
            then=Subquery(
                reroutes.filter(report=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
            ),
        ),
        default=None,
        output_field=DateTimeField(),
    )
    # Least() of a NULL is NULL on SQLite: each side falls back to the other.
    first = Least(
        Coalesce("first_response_at", "first_reroute"), Coalesce("first_reroute", "first_response_at")
    )
    return (
        candidates.annotate(first_reroute=first_reroute)
        .annotate(first_reaction=first)
        .filter(first_reaction__gte=since)
        .annotate(duration=_since_filing("first_reaction"))
    )


class _Median(Aggregate):
    """PostgreSQL's median of an interval: the mean of the middle two when their number is even, as
    ``statistics.median``."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def _median_days_by_period(
    durations: QuerySet[Report], *, moment: str, periods: dict[int, datetime]
) -> dict[int, float | None]:
    """The median ``duration`` in days of the rows whose ``moment`` is since each period's start: on
    PostgreSQL in one query over the longest period; elsewhere per period, in order from the database."""
    if connection.vendor == "postgresql":
        row = durations.order_by().aggregate(
            **{
                f"median_{days}": _Median("duration", filter=Q(**{f"{moment}__gte": since}))
                for days, since in periods.items()
            }
        )
        return {
            days: None if row[f"median_{days}"] is None else _days(row[f"median_{days}"]) for days in periods
        }
    return {
        days: _median_days_of(durations.filter(**{f"{moment}__gte": since}))
        for days, since in periods.items()
    }


def _days(duration: timedelta) -> float:
    return round(duration.total_seconds() / 86400, 1)


def _median_days_of(durations: QuerySet[Report]) -> float | None:
    """The median of the ``duration`` annotation, in days: counted, then the middle one or two rows
    read in order from the database, not every row into Python."""
    count = durations.count()
    if not count:
        return None
    middle: list[timedelta] = list(
        durations.order_by("duration").values_list("duration", flat=True)[  # type: ignore[misc]  # annotated
            (count - 1) // 2 : count // 2 + 1
        ]
    )
    return _days(sum(middle, timedelta()) / len(middle))


def _since_filing(moment: str) -> ExpressionWrapper[CombinedExpression]:
    return ExpressionWrapper(F(moment) - F("created_at"), output_field=DurationField())

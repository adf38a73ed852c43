"""Reads of the Open311 layer, built on the Mängelmelder's own selectors (``reports.selectors``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from reports import geo, selectors
from reports.models import CLOSED_STATUSES, OPEN_STATUSES, Category, Report, ReportEvent
from reports.open311.models import PartnerApiKey
from reports.selectors import BoundingBox

# The spec's defaults: a search spans at most 90 days of requested_datetime and answers at most 1,000.
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000

NEWEST_FIRST = ("-created_at", "-pk")

OPEN311_STATUSES = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}


def services() -> list[Category]:
    """The categories a request can be filed under (active leaves of active groups), in the city's
    order, each with its group and questions."""
    return [leaf for group in selectors.category_tree() for leaf in getattr(group, "active_leaves", ())]


def service(*, code: str) -> Category | None:
    """One category a request can be filed under, or None (unknown, a group, or inactive)."""
    for leaf in services():
        if leaf.key == code:
            return leaf
    return None


def unknown_service_codes(codes: Sequence[str]) -> list[str]:
    """The codes of ``codes`` that name no category at all (inactive ones still have old reports)."""
    known = set(Category.objects.filter(key__in=codes, parent__isnull=False).values_list("key", flat=True))
    return [code for code in codes if code not in known]


@dataclass(frozen=True)
class Circle:
    latitude: float
    longitude: float
    radius_m: float


@dataclass(frozen=True)
class RequestSearch:
    """A GET requests query, already validated. Each filter left at None is not applied."""

    service_request_ids: Sequence[int] | None = None
    service_codes: Sequence[str] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: Sequence[str] = ()
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    circle: Circle | None = None
    bbox: BoundingBox | None = None
    page: int = 1
    page_size: int = MAX_RESULTS
    # A partner's key: its own requests are found even when hidden.
    partner_id: int | None = None


def _own(partner_id: int | None) -> Q | None:
    return Q(open311_submission__api_key_id=partner_id) if partner_id is not None else None


def _with_history(reports: QuerySet[Report]) -> QuerySet[Report]:
    return reports.select_related("category__department", "open311_submission").prefetch_related(
        Prefetch(
            "events",
            queryset=ReportEvent.objects.filter(
                is_public=True, kind__in=selectors.PUBLIC_EVENT_KINDS
            ).order_by("created_at", "id"),
            to_attr="public_events",
        )
    )


def service_requests(search: RequestSearch, *, now: datetime) -> list[Report]:
    """Public reports (``reports.selectors.reports_public``: never hidden ones) matching ``search``,
    newest first, one page of at most ``MAX_RESULTS``.

    ``service_request_ids`` overrides every other filter, as the spec says. Without any time filter the
    last ``DEFAULT_WINDOW`` of requested_datetime applies.
    """
    own = _own(search.partner_id)
    if search.service_request_ids is not None:
        found = selectors.reports_public(also_hidden=own).filter(pk__in=search.service_request_ids)
        return list(_with_history(found).order_by(*NEWEST_FIRST)[:MAX_RESULTS])
    reports = selectors.reports_public(bbox=search.bbox, statuses=search.statuses, also_hidden=own)
    if search.service_codes:
        reports = reports.filter(category__key__in=search.service_codes)
    start, end = search.start, search.end
    if start is None and end is None and search.updated_after is None and search.updated_before is None:
        start = now - DEFAULT_WINDOW
    if start is not None:
        reports = reports.filter(created_at__gte=start)
    if end is not None:
        reports = reports.filter(created_at__lte=end)
    if search.updated_after is not None:
        reports = reports.filter(updated_at__gte=search.updated_after)
    if search.updated_before is not None:
        reports = reports.filter(updated_at__lte=search.updated_before)
    offset = (search.page - 1) * search.page_size
    if search.circle is not None:
        page_ids = _within(reports, search.circle)[offset : offset + search.page_size]
        return list(_with_history(reports.filter(pk__in=page_ids)).order_by(*NEWEST_FIRST))
    return list(_with_history(reports).order_by(*NEWEST_FIRST)[offset : offset + search.page_size])


def _within(reports: QuerySet[Report], circle: Circle) -> list[int]:
    """Ids of ``reports`` within the circle, newest first: an indexed box finds the candidates (a few
    columns each), the great-circle distance decides. The caller fetches one page of them, so the id list
    in its query stays at most a page long."""
    min_lat, min_lon, max_lat, max_lon = geo.bbox_around(circle.latitude, circle.longitude, circle.radius_m)
    candidates = (
        reports.filter(latitude__range=(min_lat, max_lat), longitude__range=(min_lon, max_lon))
        .prefetch_related(None)
        .order_by(*NEWEST_FIRST)
        .values_list("pk", "latitude", "longitude")
    )
    return [
        pk
        for pk, latitude, longitude in candidates
        if geo.distance_m(circle.latitude, circle.longitude, latitude, longitude) <= circle.radius_m
    ]


def service_request(*, report_id: int, partner_id: int | None = None) -> Report | None:
    """One public report with its history, or None (unknown or hidden, unless the partner's own)."""
    return _with_history(selectors.reports_public(also_hidden=_own(partner_id)).filter(pk=report_id)).first()


def service_request_by_token(*, token: str) -> Report | None:
    """The report a partner's POST answered ``token`` for, or None."""
    return Report.objects.filter(open311_submission__token=token).only("pk").first()


# --- The updates feed (servicerequestupdates): public history entries, for partners that follow reports

# Entries of the public history that are an update of a request: each status change, public reply and
# forwarding. The filing itself is not (the partner has the request).
UPDATE_KINDS = (ReportEvent.Kind.STATUS, ReportEvent.Kind.REPLY, ReportEvent.Kind.REROUTED)
STATUS_KINDS = (ReportEvent.Kind.CREATED, ReportEvent.Kind.STATUS)
UPDATES_MAX_WINDOW = timedelta(days=31)
UPDATES_DEFAULT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class UpdateSearch:
    start: datetime
    end: datetime
    page: int = 1
    page_size: int = MAX_RESULTS


def _status_then() -> Subquery:
    """The report's status right after an event: the target of its latest status entry up to it."""
    earlier = Q(created_at__lt=OuterRef("created_at")) | Q(
        created_at=OuterRef("created_at"), id__lte=OuterRef("id")
    )
    return Subquery(
        ReportEvent.objects.filter(earlier, report=OuterRef("report"), kind__in=STATUS_KINDS)
        .exclude(to_status="")
        .order_by("-created_at", "-id")
        .values("to_status")[:1]
    )


def service_request_updates(search: UpdateSearch) -> tuple[list[ReportEvent], bool]:
    """The public updates of public reports made from ``start`` to ``end`` (inclusive), oldest first,
    one page; and whether another page follows. Each event carries ``status_then`` (the report's status
    right after it) and ``partner_reference`` (the filing partner's own id, for that partner only: the view
    decides). Nothing of a hidden report, no internal entry, no internal note."""
    events = (
        ReportEvent.objects.filter(
            kind__in=UPDATE_KINDS,
            is_public=True,
            report__hidden=False,
            created_at__gte=search.start,
            created_at__lte=search.end,
        )
        .annotate(status_then=_status_then())
        .select_related("report__open311_submission")
        .only(
            "id",
            "kind",
            "report_id",
            "to_status",
            "public_message",
            "created_at",
            "report__status",
            "report__open311_submission__api_key_id",
            "report__open311_submission__sender_metadata",
        )
        .order_by("created_at", "id")
    )
    offset = (search.page - 1) * search.page_size
    page: list[ReportEvent] = list(events[offset : offset + search.page_size + 1])
    return page[: search.page_size], len(page) > search.page_size


# --- A partner's own requests


def report_with_submission(*, report_id: int, api_key: PartnerApiKey) -> Report | None:
    """The report with the partner submission that filed it, if any: a public one, or a hidden one that
    this partner filed (another's hidden report is unknown to it, as everywhere in the API)."""
    return (
        Report.objects.select_related("open311_submission")
        .filter(Q(hidden=False) | Q(open311_submission__api_key=api_key), pk=report_id)
        .first()
    )


def partner_notes(*, report_ids: Sequence[int], api_key_id: int) -> dict[int, list[ReportEvent]]:
    """The history a partner sees of the requests it filed: every public entry and the comments it
    passed on itself (never an internal note or a staff entry), oldest first, by report id."""
    notes: dict[int, list[ReportEvent]] = {}
    if not report_ids:
        return notes
    events = (
        ReportEvent.objects.filter(
            report_id__in=report_ids, report__open311_submission__api_key_id=api_key_id
        )
        .filter(
            Q(is_public=True, kind__in=selectors.PUBLIC_EVENT_KINDS)
            | Q(kind=ReportEvent.Kind.PARTNER_COMMENT, open311_update__api_key_id=api_key_id)
        )
        .select_related("open311_update")
        .order_by("created_at", "id")
    )
    for event in events:
        notes.setdefault(event.report_id, []).append(event)
    return notes

"""Reads of the Mängelmelder for the staff: who sees which reports, the triage queue and its filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from reports.models import (
    OPEN_STATUSES,
    Category,
    Department,
    Report,
    ReportEvent,
    ReportPhoto,
)

if TYPE_CHECKING:
    from reports.open311.models import PartnerSubmission

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


def departments_for_staff(user: Any) -> QuerySet[Department]:
    """The departments ``user`` works for: all for Administration, their own for everyone else."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Department.objects.none()
    if staff_sees_all_reports(user):
        return Department.objects.all()
    return Department.objects.filter(members=user)


def categories_for_staff(user: Any) -> QuerySet[Category]:
    """The categories whose reports ``user`` sees (leaves; all of them for Administration), by name."""
    leaves = Category.objects.filter(parent__isnull=False).order_by("name_de")
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return leaves.none()
    if staff_sees_all_reports(user):
        return leaves
    return leaves.filter(department__members=user).distinct()


def _has_photo() -> Exists:
    """The report has at least one photo that was not removed by moderation."""
    return Exists(ReportPhoto.objects.filter(report=OuterRef("pk"), removed=False))


def reports_with_photo_flag(reports: QuerySet[Report]) -> QuerySet[Report]:
    """Annotates ``has_photo`` (see ``_has_photo``)."""
    return reports.annotate(has_photo=_has_photo())


def reports_by_photo(reports: QuerySet[Report], *, has_photo: bool) -> QuerySet[Report]:
    return reports.filter(_has_photo() if has_photo else ~_has_photo())


def reports_with_list_thumbnail(reports: QuerySet[Report]) -> QuerySet[Report]:
    """Annotates ``list_thumbnail``: the stored name of the first public photo's small thumbnail (the one
    the photo pipeline made), or None. A subquery, so a page of the queue costs no query per report."""
    first_thumbnail = (
        ReportPhoto.objects.filter(report=OuterRef("pk"), removed=False)
        .order_by("position", "id")
        .values("thumbnail")[:1]
    )
    return reports.annotate(list_thumbnail=Subquery(first_thumbnail))


def reports_in_inbox(reports: QuerySet[Report], *, user: Any) -> QuerySet[Report]:
    """ "Mein Eingang": the open reports of the departments ``user`` is a member of. Someone who is a member
    of none (Administration usually) has all their reports as inbox, i.e. every open one they see."""
    reports = reports.filter(status__in=OPEN_STATUSES)
    if user.report_departments.exists():
        reports = reports.filter(category__department__members=user)
    return reports


def reports_matching(reports: QuerySet[Report], text: str) -> QuerySet[Report]:
    """Each word must occur in the description or the address, or be the report's number (``#12``) or
    the id a partner system gave it (Open311 ``sender_reference``, an indexed exact match)."""
    for term in text.split():
        # The sender's id as a subquery on its index, not an outer join of every report's submission.
        by_sender = Report.objects.filter(open311_submission__sender_reference=term).values("pk")
        condition = Q(description__icontains=term) | Q(address__icontains=term) | Q(pk__in=by_sender)
        number = term.removeprefix("#")
        if number.isdigit() and len(number) <= MAX_REPORT_NUMBER_DIGITS:
            condition |= Q(pk=int(number))
        reports = reports.filter(condition)
    return reports


def partner_submission(report: Report) -> PartnerSubmission | None:
    """The Open311 submission that filed ``report``, or None for a report from the app."""
    try:
        return report.open311_submission
    except ObjectDoesNotExist:
        return None


def reports_overdue(reports: QuerySet[Report], *, now: datetime | None = None) -> QuerySet[Report]:
    """The open reports of ``reports`` whose first response was due before ``now`` and has not happened
    (no status change or public reply by staff yet)."""
    return reports.filter(
        status__in=OPEN_STATUSES,
        first_response_at__isnull=True,
        first_response_due_at__lt=now or timezone.now(),
    )


def report_is_overdue(report: Report, *, now: datetime | None = None) -> bool:
    """``reports_overdue`` for one report already loaded."""
    return (
        report.status in OPEN_STATUSES
        and report.first_response_at is None
        and report.first_response_due_at is not None
        and report.first_response_due_at < (now or timezone.now())
    )


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


def alert_recipients(*, department_id: int | None) -> QuerySet[User]:
    """Who may get e-mails about the department's reports: its active Triage members with an address.
    Their preference (``AlertPreference``) decides how often."""
    if department_id is None:
        return User.objects.none()
    return (
        User.objects.filter(
            is_active=True, is_staff=True, groups__name=TRIAGE_GROUP, report_departments=department_id
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def reports_of_member(user: Any) -> QuerySet[Report]:
    """The reports of the departments ``user`` is a member of (what their alerts are about)."""
    return Report.objects.filter(category__department__members=user)


@dataclass(frozen=True)
class MapFilters:
    """What the overview map is narrowed to; empty fields do not narrow."""

    statuses: tuple[str, ...] = ()
    category_key: str | None = None
    older_than_days: int | None = None
    newer_than_days: int | None = None
    overdue: bool = False  # only reports past their first-response due time (``reports_overdue``)


# More points than this are not useful on one map (nor cheap to send); the newest are shown.
MAP_MAX_REPORTS = 5000


def reports_on_map(*, user: Any, filters: MapFilters, now: datetime | None = None) -> QuerySet[Report]:
    """The open reports of ``user``'s departments (see ``reports_for_staff``: Administration sees all),
    narrowed by ``filters``, newest first. The one place the map's filters are applied: a new filter (the
    overdue mark, say) is a field of ``MapFilters``, a field of the map's filter form and a line here."""
    statuses = [status for status in filters.statuses if status in OPEN_STATUSES] or list(OPEN_STATUSES)
    reports = reports_staff_queue(
        user=user,
        statuses=statuses,
        category_key=filters.category_key,
        older_than_days=filters.older_than_days,
        newer_than_days=filters.newer_than_days,
        now=now,
    )
    if filters.overdue:
        reports = reports_overdue(reports, now=now)
    return reports.order_by("-created_at", "-id")

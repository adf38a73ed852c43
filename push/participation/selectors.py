"""Reads of Mitmach-Aktionen: what the app lists and shows, and what an installation sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from push.models import Installation, NotificationKind
from push.participation.models import Participation, Submission, SubmissionStatus
from push.selectors import ITEM_ID_PREFIX, PUBLISHED_STATUSES


def participations_public() -> QuerySet[Participation]:
    """Campaigns whose notification was published (open or closed), with their count of public photos."""
    return (
        Participation.objects.filter(
            notification__kind=NotificationKind.CAMPAIGN,
            notification__status__in=PUBLISHED_STATUSES,
            notification__test_of__isnull=True,
        )
        .select_related("notification")
        .annotate(
            photos_published=Count("submissions", filter=Q(submissions__status=SubmissionStatus.APPROVED))
        )
    )


@dataclass(frozen=True)
class PublicParticipation:
    id: int
    notice_id: str  # the notice (``n-<notification id>``) that announced it
    title: str
    body: str
    description: str
    closes_at: datetime
    open: bool
    max_submissions: int
    photos_published: int


def participation_public(
    participation: Participation, *, language: str, now: datetime
) -> PublicParticipation:
    """The campaign as the app shows it, in ``language`` with German as the fallback."""
    content = participation.notification.content
    text = content.get(language) or content.get("de", {})
    description = participation.description_en if language == "en" else ""
    return PublicParticipation(
        id=participation.pk,
        notice_id=f"{ITEM_ID_PREFIX}{participation.notification_id}",
        title=str(text.get("title") or content.get("de", {}).get("title", "")),
        body=str(text.get("body") or content.get("de", {}).get("body", "")),
        description=description or participation.description_de,
        closes_at=participation.closes_at,
        open=participation.is_open(now=now),
        max_submissions=participation.max_submissions,
        photos_published=getattr(participation, "photos_published", 0),
    )


def gallery_queryset(*, participation: Participation) -> QuerySet[Submission]:
    """The approved photos of a campaign, newest first (the order the gallery paginates)."""
    return Submission.objects.filter(participation=participation, status=SubmissionStatus.APPROVED).order_by(
        "-published_at", "-pk"
    )


def submissions_of(*, participation: Participation, installation: Installation) -> QuerySet[Submission]:
    """What one installation sent to a campaign, newest first, whatever moderation decided."""
    return Submission.objects.filter(participation=participation, installation=installation).order_by(
        "-created_at", "-pk"
    )

"""Reads of the push module worth a name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone, translation

from casapp.languages import field_in, text_in
from casapp.models import Platform
from push import links, registry
from push.fanout.audience import audience_queryset, broadcast_audience
from push.fanout.messages import localized
from push.models import (
    BROADCAST_KINDS,
    AudienceKind,
    AuditEntry,
    DeactivationReason,
    Delivery,
    DeliveryStatus,
    Installation,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutageState,
    Topic,
)

# --- staff

# Token errors after which the fan-out engine switches an installation's push off.
DEACTIVATING_ERROR_CODES = (
    DeactivationReason.UNREGISTERED,
    DeactivationReason.SENDER_MISMATCH,
    DeactivationReason.INVALID_TOKEN,
)


def notifications_for_staff(*, with_audit_log: bool = False) -> QuerySet[Notification]:
    """The broadcasts staff write and send (outages, campaigns, news), without personal notifications
    (their text is per installation) and without test sends (copies shown in their original's log)."""
    queryset = (
        Notification.objects.filter(kind__in=BROADCAST_KINDS, test_of__isnull=True)
        .select_related("created_by", "approved_by")
        .prefetch_related("audience_topics")
    )
    if with_audit_log:
        queryset = queryset.prefetch_related(
            Prefetch("audit_entries", queryset=AuditEntry.objects.select_related("actor"))
        )
    return queryset


def notification_statistics(notification: Notification) -> dict[str, Any]:
    """How a send went, from its delivery rows.

    ``targeted`` counts every delivery row; ``expired`` those not sent because the notification's expiry
    passed first (an audience not written by then is not counted at all); ``opened`` those the app
    reported as opened; ``open_rate`` is opened per delivery that reached the phone (accepted by FCM or
    inbox only), ``None`` before any did.
    ``deactivated`` counts failures that switched an installation's push off;
    ``sent_without_approval`` and ``fast_path_reason`` tell whether and why the outage fast path was taken.
    """
    deliveries = Delivery.objects.filter(notification_id=notification.pk)
    counts = deliveries.aggregate(
        targeted=Count("pk"),
        accepted=Count("pk", filter=Q(status=DeliveryStatus.ACCEPTED)),
        inbox_only=Count("pk", filter=Q(status=DeliveryStatus.INBOX_ONLY)),
        pending=Count("pk", filter=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.CLAIMED])),
        cancelled=Count("pk", filter=Q(status=DeliveryStatus.CANCELLED)),
        expired=Count("pk", filter=Q(status=DeliveryStatus.EXPIRED)),
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
        deactivated=Count(
            "pk", filter=Q(status=DeliveryStatus.FAILED, error_code__in=DEACTIVATING_ERROR_CODES)
        ),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
    )
    failed_by_error = dict(
        deliveries.filter(status=DeliveryStatus.FAILED)
        .values_list("error_code")
        .annotate(n=Count("pk"))
        .order_by("error_code")
    )
    reached = counts["accepted"] + counts["inbox_only"]
    open_rate = round(counts["opened"] / reached, 4) if reached else None
    return {
        **counts,
        "failed_by_error": failed_by_error,
        "open_rate": open_rate,
        "sent_without_approval": notification.emergency,
        "fast_path_reason": notification.emergency_reason or None,
    }


def notifications_awaiting_approval_by(user: Any) -> QuerySet[Notification]:
    """Notifications waiting for approval that ``user`` did not write or change (whether they may approve
    at all is ``can_approve``): what the workspace index counts for them."""
    wrote = AuditEntry.objects.filter(
        notification_id=OuterRef("pk"), actor_id=user.pk, action__in=["created", "updated"]
    )
    return (
        notifications_for_staff()
        .filter(status=NotificationStatus.AWAITING_APPROVAL)
        .exclude(created_by_id=user.pk)
        .exclude(Exists(wrote))
    )


@dataclass(frozen=True)
class AudienceEstimate:
    """How many installations a broadcast would reach if it were sent now."""

    total: int
    by_platform: dict[str, int]
    # Installations per text they will get: a language the notification has a text in, German otherwise.
    by_language: dict[str, int]
    # Installations whose language has no text of its own and who therefore get German.
    german_fallback: int
    active_days: int
    minimum: int  # PUSH_CAMPAIGN_MIN_AUDIENCE for campaigns, 1 otherwise
    below_minimum: bool


def audience_estimate(
    *,
    kind: str,
    audience_kind: str,
    topic_ids: list[int] | None = None,
    stadtteile: list[str] | None = None,
    languages: list[str] | None = None,
    now: datetime | None = None,
) -> AudienceEstimate:
    """The audience of a broadcast as the fan-out would write it now
    (``push.fanout.audience.broadcast_audience``, the same query), counted in one grouped COUNT by
    platform and language: no rows are fetched."""
    if audience_kind not in (AudienceKind.ALL, AudienceKind.TOPICS, AudienceKind.STADTTEILE):
        audience_kind = AudienceKind.ALL
    audience = broadcast_audience(
        kind=kind,
        audience_kind=audience_kind,
        topic_ids=list(topic_ids or []),
        stadtteile=list(stadtteile or []),
        now=now or timezone.now(),
    )
    return _counted(audience, kind=kind, languages=languages or ["de"])


def notification_audience(notification: Notification, *, now: datetime | None = None) -> AudienceEstimate:
    """The audience estimate of a saved broadcast: the installations its send would reach now."""
    return _counted(
        audience_queryset(notification, now=now), kind=notification.kind, languages=list(notification.content)
    )


def _counted(audience: QuerySet[Installation], *, kind: str, languages: list[str]) -> AudienceEstimate:
    by_platform = {platform.value: 0 for platform in Platform}
    by_language = dict.fromkeys(["de", *sorted(set(languages) - {"de"})], 0)
    fallback = 0
    groups = audience.order_by().values_list("platform", "locale").annotate(n=Count("pk"))
    for platform, locale, count in groups:
        by_platform[platform] = by_platform.get(platform, 0) + count
        if locale in by_language:
            by_language[locale] += count
        else:
            by_language["de"] += count
            fallback += count
    total = sum(by_platform.values())
    minimum = settings.PUSH_CAMPAIGN_MIN_AUDIENCE if kind == NotificationKind.CAMPAIGN else 1
    return AudienceEstimate(
        total=total,
        by_platform=by_platform,
        by_language=by_language,
        german_fallback=fallback,
        active_days=settings.PUSH_STALE_AFTER_DAYS,
        minimum=minimum,
        below_minimum=total < minimum,
    )


# --- app

# The public notice board is one bounded list (see ``notices_current``); the inbox is paginated.
NOTICES_LIMIT = 100
# Statuses in which a broadcast has been published: people got it, so they may read it again.
# An expired send may have reached some before its expiry; the notice board leaves it out by its expiry.
PUBLISHED_STATUSES = (
    NotificationStatus.SENDING,
    NotificationStatus.SENT,
    NotificationStatus.PARTLY_FAILED,
    NotificationStatus.EXPIRED,
)
# Rows that never reached the phone, not even its inbox.
NOT_DELIVERED = (DeliveryStatus.CANCELLED, DeliveryStatus.EXPIRED)
# Item ids name the notification ("n-42"), the same id a push carries in its data as notification_id.
ITEM_ID_PREFIX = "n-"


@dataclass(frozen=True)
class TimelineEntry:
    id: str
    title: str
    body: str
    published_at: datetime


@dataclass(frozen=True)
class Notice:
    id: str
    kind: str
    category: str | None
    title: str
    body: str
    deep_link: str
    link: links.ParsedLink | None
    image_url: str
    published_at: datetime
    expires_at: datetime | None
    ongoing: bool
    timeline: list[TimelineEntry]


@dataclass(frozen=True)
class InboxItem(Notice):
    read: bool


@dataclass(frozen=True)
class Preferences:
    topics: list[str]
    muted_categories: list[str]
    stadtteil: str | None


@dataclass(frozen=True)
class CatalogueKind:
    key: str
    name: str


@dataclass(frozen=True)
class CatalogueTopic:
    key: str
    name: str
    description: str
    default_subscribed: bool
    kind: str


@dataclass(frozen=True)
class CatalogueCategory:
    key: str
    name: str
    description: str


@dataclass(frozen=True)
class CatalogueLinkParameter:
    name: str
    type: str
    pattern: str
    description: str


@dataclass(frozen=True)
class CatalogueLink:
    key: str
    template: str
    name: str
    description: str
    parameters: list[CatalogueLinkParameter]


@dataclass(frozen=True)
class Catalogue:
    kinds: list[CatalogueKind]
    topics: list[CatalogueTopic]
    categories: list[CatalogueCategory]
    links: list[CatalogueLink]


WEB_LINK_NAME = {"de": "Internetseite", "en": "Web page", "tr": "İnternet sayfası"}
WEB_LINK_DESCRIPTION = {
    "de": "Eine öffentliche https-Adresse, im Browser geöffnet.",
    "en": "A public https address, opened in the browser.",
    "tr": "Tarayıcıda açılan, herkese açık bir https adresi.",
}


def link_catalogue(*, language: str) -> list[CatalogueLink]:
    """Every screen a push or notice may open (``push.links``), then ``web`` for https addresses."""
    entries = [
        CatalogueLink(
            key=target.key,
            template=target.template,
            name=target.name_in(language),
            description=target.description_in(language),
            parameters=[
                CatalogueLinkParameter(
                    name=parameter.name,
                    type=parameter.type,
                    pattern=links.PARAMETER_PATTERNS[parameter.type],
                    description=text_in(parameter.description, language),
                )
                for parameter in target.parameters
            ],
        )
        for target in links.registered_links()
    ]
    web = CatalogueLink(
        key=links.WEB,
        template="{url}",
        name=text_in(WEB_LINK_NAME, language),
        description=text_in(WEB_LINK_DESCRIPTION, language),
        parameters=[
            CatalogueLinkParameter(
                name="url", type="https_url", pattern=r"https://\S+", description="https://…"
            )
        ],
    )
    return [*entries, web]


def item_id(notification_id: int) -> str:
    return f"{ITEM_ID_PREFIX}{notification_id}"


def notification_id_of_item(value: str) -> int | None:
    """The notification an item id names, or ``None`` if it names none (the caller answers 404)."""
    number = value.removeprefix(ITEM_ID_PREFIX)
    if number == value or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    return int(number)


def push_catalogue(*, language: str) -> Catalogue:
    """What the app can subscribe to and mute, named in ``language`` (German where no translation)."""
    with translation.override(language):
        kinds = [CatalogueKind(key=str(value), name=str(label)) for value, label in NotificationKind.choices]
    topics = [
        CatalogueTopic(
            key=topic.key,
            name=field_in(topic, "name", language),
            description=field_in(topic, "description", language),
            default_subscribed=topic.default_subscribed,
            kind=topic.kind,
        )
        for topic in Topic.objects.order_by("position", "key")
    ]
    categories = [
        CatalogueCategory(
            key=category.key,
            name=category.name_in(language),
            description=category.description_in(language),
        )
        for category in registry.registered_categories()
    ]
    return Catalogue(
        kinds=kinds, topics=topics, categories=categories, links=link_catalogue(language=language)
    )


def installation_preferences(*, installation: Installation) -> Preferences:
    """Subscribed topic keys (catalogue order), muted categories that are still registered, Stadtteil."""
    topics = list(installation.topics.order_by("position", "key").values_list("key", flat=True))
    muted = sorted(
        category
        for category in installation.opt_outs.values_list("category", flat=True)
        if registry.category_is_registered(category)
    )
    return Preferences(topics=topics, muted_categories=muted, stadtteil=installation.stadtteil or None)


def _not_expired(now: datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gte=now)


def _annotated(queryset: QuerySet[Notification]) -> QuerySet[Notification]:
    """Adds ``published_at`` (start of sending), ``thread_root`` (the first alert of an outage thread,
    else the notification itself) and ``ongoing`` (an outage whose resolution has not been sent)."""
    return queryset.annotate(
        published_at=Coalesce("started_at", "created_at"),
        thread_root=Coalesce("thread_id", "pk", output_field=BigIntegerField()),
        # Positive conditions only: a negated condition on the nullable thread join would be NULL.
        ongoing=Case(
            When(~Q(kind=NotificationKind.OUTAGE), then=Value(False)),
            When(thread__isnull=True, outage_state=OutageState.RESOLVED, then=Value(False)),
            When(thread__isnull=True, then=Value(True)),
            When(thread__outage_state=OutageState.RESOLVED, then=Value(False)),
            default=Value(True),
            output_field=BooleanField(),
        ),
    )


def _published_notices(*, now: datetime) -> Q:
    return Q(kind__in=BROADCAST_KINDS, status__in=PUBLISHED_STATUSES, test_of__isnull=True) & _not_expired(
        now
    )


def _superseded(*, now: datetime) -> Exists:
    """An outage post that a later published post of the same thread replaces (on lock screens too)."""
    later = (
        _annotated(Notification.objects.filter(_published_notices(now=now), kind=NotificationKind.OUTAGE))
        .filter(Q(thread_id=OuterRef("thread_root")) | Q(pk=OuterRef("thread_root")))
        .filter(
            Q(published_at__gt=OuterRef("published_at"))
            | Q(published_at=OuterRef("published_at"), pk__gt=OuterRef("pk"))
        )
    )
    return Exists(later)


def _timelines(*, posts: list[Notification], now: datetime, language: str) -> dict[int, list[TimelineEntry]]:
    """Every published post of the outage threads among ``posts``, oldest first, by thread root."""
    roots = {post.thread_root for post in posts if post.kind == NotificationKind.OUTAGE}  # type: ignore[attr-defined]
    if not roots:
        return {}
    thread_posts = _annotated(
        Notification.objects.filter(_published_notices(now=now), kind=NotificationKind.OUTAGE).filter(
            Q(pk__in=roots) | Q(thread_id__in=roots)
        )
    ).order_by("published_at", "pk")
    timelines: dict[int, list[TimelineEntry]] = {}
    for post in thread_posts:
        text = localized(post.content, language)
        timelines.setdefault(post.thread_root, []).append(  # type: ignore[attr-defined]
            TimelineEntry(
                id=item_id(post.pk),
                title=text["title"],
                body=text["body"],
                published_at=post.published_at,  # type: ignore[attr-defined]
            )
        )
    return timelines


def _notice_fields(
    notification: Notification, *, content: dict[str, Any], language: str, timeline: list[TimelineEntry]
) -> dict[str, Any]:
    text = localized(content, language)
    return {
        "id": item_id(notification.pk),
        "kind": notification.kind,
        "category": notification.category or None,
        "title": text["title"],
        "body": text["body"],
        "deep_link": notification.deep_link,
        "link": links.link_parse(notification.deep_link),
        "image_url": notification.image_url,
        "published_at": notification.published_at,  # type: ignore[attr-defined]
        "expires_at": notification.expires_at,
        "ongoing": notification.ongoing,  # type: ignore[attr-defined]
        "timeline": timeline,
    }


def notices_current(*, now: datetime, language: str, limit: int = NOTICES_LIMIT) -> list[Notice]:
    """The public notice board: published outages, campaigns and news in ``language`` (German fallback).

    Test sends and expired notifications are left out. An outage thread is one entry showing its latest
    post, with the thread's posts as a timeline; ``ongoing`` until its resolution was sent. Ongoing
    outages come first, then newest first; at most ``limit`` entries.
    """
    posts = list(
        _annotated(Notification.objects.filter(_published_notices(now=now)))
        .filter(~_superseded(now=now))
        .order_by("-ongoing", "-published_at", "-pk")[:limit]
    )
    timelines = _timelines(posts=posts, now=now, language=language)
    return [
        Notice(
            **_notice_fields(
                post,
                content=post.content,
                language=language,
                timeline=timelines.get(post.thread_root, []),  # type: ignore[attr-defined]
            )
        )
        for post in posts
    ]


def inbox_queryset(*, installation: Installation, now: datetime) -> QuerySet[Notification]:
    """One installation's inbox, unordered (the paginator orders by ``published_at``, ``pk``).

    The current notices (as ``notices_current``, outage threads folded to their latest post) and the
    installation's own personal notifications: every delivery but a cancelled one, so an installation
    with push switched off (rows ``inbox_only``) still finds them. Expired ones are left out.
    """
    # Driven by the installation's own delivery rows (indexed), not by a scan of every personal send.
    mine = (
        Delivery.objects.filter(installation_id=installation.pk)
        .exclude(status__in=NOT_DELIVERED)
        .values("notification_id")
    )
    notices = _published_notices(now=now) & ~_superseded(now=now)
    personal = Q(kind=NotificationKind.PERSONAL, pk__in=mine) & _not_expired(now)
    return _annotated(Notification.objects.all()).filter(notices | personal)


def inbox_items(
    *, installation: Installation, notifications: list[Notification], now: datetime, language: str
) -> list[InboxItem]:
    """Inbox entries for a page of ``inbox_queryset``: text in ``language`` (a personal notification's
    own per-installation text where it has one) and whether this installation has read it."""
    deliveries = {
        delivery.notification_id: delivery
        for delivery in Delivery.objects.filter(
            installation_id=installation.pk, notification_id__in=[n.pk for n in notifications]
        ).only("notification_id", "content", "opened_at")
    }
    timelines = _timelines(posts=notifications, now=now, language=language)
    items = []
    for notification in notifications:
        delivery = deliveries.get(notification.pk)
        fields = _notice_fields(
            notification,
            content=(delivery.content if delivery else None) or notification.content,
            language=language,
            timeline=timelines.get(notification.thread_root, []),  # type: ignore[attr-defined]
        )
        items.append(InboxItem(**fields, read=bool(delivery and delivery.opened_at)))
    return items


def inbox_notification(*, installation: Installation, notification_id: int) -> Notification | None:
    """A notification this installation may mark read, or ``None``: a published notice (any post of an
    outage thread, since each push names the post it carried; expired ones too, as the push was shown)
    or one of its own personal notifications. Never another installation's, never a test send."""
    mine = Delivery.objects.filter(installation_id=installation.pk, notification_id=OuterRef("pk")).exclude(
        status__in=NOT_DELIVERED
    )
    published = Q(kind__in=BROADCAST_KINDS, status__in=PUBLISHED_STATUSES, test_of__isnull=True)
    return (
        Notification.objects.filter(pk=notification_id)
        .filter(published | (Q(kind=NotificationKind.PERSONAL) & Exists(mine)))
        .first()
    )

"""What a delivery row becomes on the wire: the installation's language, the notification's payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from push.fanout.claims import ClaimedDelivery
from push.models import Delivery, Notification, NotificationKind, Priority
from push.transports import OutgoingMessage


def localized(content: dict[str, Any], locale: str) -> dict[str, str]:
    """The installation's language if the text exists in it, German otherwise."""
    chosen: dict[str, Any] = content.get(locale) or content.get("de") or next(iter(content.values()), {})
    return {"title": str(chosen.get("title", "")), "body": str(chosen.get("body", ""))}


def collapse_key_for(notification: Notification) -> str:
    root = notification.thread_id or (
        notification.pk if notification.kind == NotificationKind.OUTAGE else None
    )
    return f"outage-{root}" if root else ""


def ttl_seconds_for(notification: Notification, *, now: datetime) -> int | None:
    if notification.expires_at is None:
        return None
    return max(0, int((notification.expires_at - now).total_seconds()))


@dataclass(frozen=True)
class _Common:
    """What every message of a notification shares, worked out once per batch."""

    data: dict[str, str]
    collapse_key: str
    high_priority: bool
    ttl_seconds: int | None

    @classmethod
    def of(cls, notification: Notification, *, now: datetime) -> _Common:
        data = {str(k): str(v) for k, v in notification.data.items()}
        return cls(
            data=data,
            collapse_key=collapse_key_for(notification),
            high_priority=notification.priority == Priority.HIGH,
            ttl_seconds=ttl_seconds_for(notification, now=now),
        )


def _message(
    notification: Notification,
    common: _Common,
    *,
    delivery_id: int,
    content: dict[str, Any] | None,
    data: dict[str, Any] | None,
    token: str | None,
    token_kind: str,
    locale: str,
) -> OutgoingMessage:
    text = localized(content or notification.content, locale)
    merged = {**common.data, **{str(k): str(v) for k, v in data.items()}} if data else dict(common.data)
    merged |= {"notification_id": str(notification.pk), "kind": notification.kind}
    if notification.deep_link:
        merged["deep_link"] = notification.deep_link
    return OutgoingMessage(
        delivery_id=delivery_id,
        token=token or "",
        token_kind=token_kind,
        title=text["title"],
        body=text["body"],
        data=merged,
        image_url=notification.image_url,
        collapse_key=common.collapse_key,
        high_priority=common.high_priority,
        ttl_seconds=common.ttl_seconds,
        channel=notification.kind,
    )


def outgoing_message(notification: Notification, delivery: Delivery, *, now: datetime) -> OutgoingMessage:
    """The message a delivery row becomes: the installation's language, the notification's payload."""
    installation = delivery.installation
    return _message(
        notification,
        _Common.of(notification, now=now),
        delivery_id=delivery.pk,
        content=delivery.content,
        data=delivery.data,
        token=installation.push_token,
        token_kind=installation.push_token_kind,
        locale=installation.locale,
    )


def outgoing_messages(
    notification: Notification, batch: list[ClaimedDelivery], *, now: datetime
) -> list[OutgoingMessage]:
    """The messages of a claimed batch. Rows without text or data of their own (every row of a
    broadcast) share one message per language, copied with their id and token."""
    common = _Common.of(notification, now=now)
    by_locale: dict[str, OutgoingMessage] = {}
    messages = []
    for row in batch:
        if row.content is None and row.data is None:
            shared = by_locale.get(row.locale)
            if shared is None:
                shared = by_locale[row.locale] = _message(
                    notification,
                    common,
                    delivery_id=0,
                    content=None,
                    data=None,
                    token=None,
                    token_kind=row.token_kind,
                    locale=row.locale,
                )
            messages.append(
                OutgoingMessage(
                    delivery_id=row.pk,
                    token=row.push_token or "",
                    token_kind=row.token_kind,
                    title=shared.title,
                    body=shared.body,
                    data=shared.data,
                    image_url=shared.image_url,
                    collapse_key=shared.collapse_key,
                    high_priority=shared.high_priority,
                    ttl_seconds=shared.ttl_seconds,
                    channel=shared.channel,
                )
            )
            continue
        messages.append(
            _message(
                notification,
                common,
                delivery_id=row.pk,
                content=row.content,
                data=row.data,
                token=row.push_token,
                token_kind=row.token_kind,
                locale=row.locale,
            )
        )
    return messages

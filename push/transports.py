"""How messages leave the building. Each backend turns a batch into per-message results.

A result's error says whether it is about the *token* (deactivate that installation), the *payload*
(fail the notification, deactivate nobody), a *quota* (back off), *transient* (retry later), or
*credentials* (stop and alert). The fan-out engine decides from that, never from exception types.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

logger = logging.getLogger("push.transport")


class ErrorClass(StrEnum):
    TOKEN = "token"  # this installation's token is dead: deactivate it
    PAYLOAD = "payload"  # the message itself is wrong: fail the notification, deactivate nobody
    QUOTA = "quota"  # project quota: back off at least a minute
    TRANSIENT = "transient"  # FCM hiccup: retry with backoff
    CREDENTIALS = "credentials"  # our APNs/web-push/service credentials: stop and alert


@dataclass(frozen=True)
class SendError:
    code: str  # unregistered, sender_mismatch, invalid_token, invalid_payload, quota_exceeded, ...
    error_class: ErrorClass
    retry_after: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: int
    token: str
    token_kind: str  # "registration_token" or "fid"
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    image_url: str = ""
    collapse_key: str = ""
    high_priority: bool = False
    ttl_seconds: int | None = None
    channel: str = ""

    def payload_size(self) -> int:
        """Bytes of what FCM counts against its 4 KB limit: notification text and data."""
        return len(
            json.dumps(
                {"title": self.title, "body": self.body, "image": self.image_url, "data": self.data},
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode()
        )


@dataclass(frozen=True)
class SendResult:
    delivery_id: int
    message_id: str | None = None
    error: SendError | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


class InFlight(Protocol):
    """A batch handed to a transport whose answers are awaited later."""

    def results(self) -> list[SendResult]:
        """Waits for the answers: one result per message, in order. Never raises for a message."""
        ...


@dataclass(frozen=True)
class Answered:
    """A batch already answered (a transport that sends while it is handed the batch)."""

    answered: list[SendResult]

    def results(self) -> list[SendResult]:
        return self.answered


class Transport(Protocol):
    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        """Sends up to 500 messages; one result per message, in order. Never raises for a message."""
        ...

    def submit(self, messages: list[OutgoingMessage]) -> InFlight:
        """Starts sending up to 500 messages and returns at once, so the caller can claim and record
        other batches while these are on the wire."""
        ...


class ConsoleTransport:
    """Development backend: logs each message and reports it accepted."""

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        for message in messages:
            logger.info(
                "push (console): %s | %s",
                message.title,
                message.body,
                extra={"delivery_id": message.delivery_id, "collapse_key": message.collapse_key},
            )
        return [
            SendResult(delivery_id=m.delivery_id, message_id=f"console/{m.delivery_id}") for m in messages
        ]

    def submit(self, messages: list[OutgoingMessage]) -> InFlight:
        return Answered(self.send(messages))


_transport: Transport | None = None


def get_transport() -> Transport:
    """The configured backend, built once per process (a Firebase app holds connection pools)."""
    global _transport  # noqa: PLW0603  (one per process, created lazily after the worker forks)
    if _transport is None:
        from django.conf import settings

        if settings.PUSH_BACKEND == "firebase":
            from push.firebase import FirebaseTransport

            _transport = FirebaseTransport.from_settings()
        else:
            _transport = ConsoleTransport()
    return _transport


def reset_transport() -> None:
    """Forgets the process's transport (tests switch backends and fake servers)."""
    global _transport  # noqa: PLW0603
    if _transport is not None and hasattr(_transport, "close"):
        _transport.close()
    _transport = None

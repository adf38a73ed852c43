"""The outbox of e-mails to the staff: a row per e-mail, written in the transaction of the step that
causes it, sent by a worker after commit through Django's mail framework.

Two features use it and keep their own tables on ``OutboxMail``: the Mängelmelder's alerts and digests to
Triage (``reports.alerts``; an alert is written at send time in its member's language) and the e-mails of
the push notifications' four-eyes workflow to Kommunikation (``push.services.workflow_mail``; stored
written). Each keeps its Celery tasks, whose names stand in the beat schedule and in queued messages; the
mechanism is here, and knows neither feature.

What it guarantees: the step never waits for the mail server nor fails because of it. A refusal is
recorded on the row (``attempts``, ``last_error``) and the send task retries with backoff
(``ALERT_RETRY_BASE_SECONDS``, ``ALERT_MAX_RETRIES``); what is still unsent after that, or whose task was
lost with its broker, a periodic sweep resends (older than ``RESEND_AFTER``, younger than
``RESEND_GIVE_UP``). An e-mail goes out at most once: its row is locked (skipping a row another worker
holds), read again unsent, sent and marked sent in one transaction, so a retried or redelivered task and
the sweep racing it never both send it.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from celery import Task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

BERLIN = ZoneInfo("Europe/Berlin")  # the e-mails name times as the staff read them
# Pending e-mails older than this are resent by the sweep (younger ones are still in their task's
# retries); older than RESEND_GIVE_UP they are news no more and stay unsent, visible with their error.
RESEND_AFTER = dt.timedelta(minutes=10)
RESEND_GIVE_UP = dt.timedelta(days=2)
# What a mail server (or the way to it) answers when it cannot take a message now: worth a retry.
DELIVERY_ERRORS: tuple[type[Exception], ...] = (smtplib.SMTPException, OSError)
RETRY_MAX_SECONDS = 3600


class MailDeliveryFailed(Exception):
    """At least one e-mail could not be handed to the mail server; its row stays unsent with the error."""


class OutboxMail(models.Model):
    """The delivery state of one e-mail. ``sent_at`` is set when the mail server accepted it."""

    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True


Mail = TypeVar("Mail", bound=OutboxMail)


# --- Writing the e-mails


def berlin_time(value: dt.datetime) -> str:
    return f"{timezone.localtime(value, BERLIN):%d.%m.%Y %H:%M}"


def workspace_link(path: str) -> str:
    """An absolute link into the staff workspace (``WORKSPACE_BASE_URL``) for ``path``."""
    return f"{settings.WORKSPACE_BASE_URL.rstrip('/')}{path}"


def text_preview(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# --- Queueing and sending


def outbox_send_after_commit(task: Task[[int], object], key: int) -> None:
    """Has ``task`` (a send task) run for ``key`` once the caller's transaction commits."""
    # robust: whatever happens to the queueing, the step is done and the rows wait for the sweep.
    transaction.on_commit(partial(task.delay, key), robust=True)


def outbox_send_one(
    rows: QuerySet[Mail],
    mail_id: int,
    *,
    message: Callable[[Mail], EmailMessage | None],
    what: str,
    logger: logging.Logger,
    also_saved: Iterable[str] = (),
) -> bool:
    """Sends the row ``mail_id`` of ``rows`` unless it is sent already or another worker holds it: under
    a row lock, in one transaction with marking it sent (and saving ``also_saved``, fields ``message``
    set). ``message`` writes the e-mail, or None for a row to mark sent without one. Returns whether an
    e-mail went out; a refusal is recorded on the row, logged and raised as ``MailDeliveryFailed``."""
    try:
        with transaction.atomic():
            mail = (
                rows.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=mail_id, sent_at__isnull=True)
                .first()
            )
            if mail is None:
                return False  # sent meanwhile, or another worker is sending it right now
            email = message(mail)
            if email is not None:
                email.send()
            mail.sent_at = timezone.now()
            mail.attempts += 1
            mail.save(update_fields=["sent_at", "attempts", *also_saved])
            return email is not None
    except DELIVERY_ERRORS as error:
        text = f"{type(error).__name__}: {error}"[:500]
        rows.model._default_manager.filter(pk=mail_id).update(attempts=F("attempts") + 1, last_error=text)
        logger.warning("%s %s not delivered: %s", what, mail_id, text)
        raise MailDeliveryFailed(text) from error


@dataclass(frozen=True)
class Outbox(Generic[Mail]):
    """The e-mails of one feature that come in steps (a report filed, a workflow step taken): each step
    writes its rows, one task sends them, the sweep resends what is left."""

    model: type[Mail]
    step: str  # the field naming a row's step, e.g. "report_id": one task sends one step's e-mails
    message: Callable[[Mail], EmailMessage]  # writes a row's e-mail
    what: str  # what a row is called in the log: "intake alert"
    logger: logging.Logger
    related: tuple[str, ...] = ()  # what ``message`` reads, loaded with the row

    def queue(self, rows: Collection[Mail], *, task: Task[[int], object], key: int) -> int:
        """Records ``rows`` (the e-mails of step ``key``) in the caller's transaction and has ``task`` send
        them after commit. A row its table's unique constraint already holds (the same e-mail of the same
        step) is not written again. Returns the number of rows given."""
        self.model._default_manager.bulk_create(rows, ignore_conflicts=True)
        if rows:
            outbox_send_after_commit(task, key)
        return len(rows)

    def send(self, key: int) -> int:
        """Sends the unsent e-mails of step ``key``, each as ``outbox_send_one``. Tries them all, then
        raises ``MailDeliveryFailed`` if the mail server refused one. Returns the number sent."""
        rows = self.model._default_manager.select_related(*self.related).filter(**{self.step: key})
        sent = 0
        failure: MailDeliveryFailed | None = None
        for mail_id in rows.filter(sent_at__isnull=True).order_by("pk").values_list("pk", flat=True):
            try:
                if outbox_send_one(rows, mail_id, message=self.message, what=self.what, logger=self.logger):
                    sent += 1
            except MailDeliveryFailed as refused:
                failure = refused
        if failure is not None:
            raise failure
        return sent

    def resend_pending(self, *, now: dt.datetime | None = None) -> int:
        """The sweep: sends the e-mails of each step that has some left unsent, older than
        ``RESEND_AFTER`` (younger ones are their task's business) and younger than ``RESEND_GIVE_UP``. A
        refusal is left for the next sweep. Returns the number sent now."""
        now = now or timezone.now()
        steps = (
            self.model._default_manager.filter(
                sent_at__isnull=True, created_at__lte=now - RESEND_AFTER, created_at__gt=now - RESEND_GIVE_UP
            )
            .values_list(self.step, flat=True)
            .distinct()
        )
        sent = 0
        for key in list(steps):
            try:
                sent += self.send(key)
            except MailDeliveryFailed:
                continue  # recorded on the rows; the next sweep tries again
        return sent


def outbox_retry_later(task: Any, failure: MailDeliveryFailed) -> None:
    """Has a bound send task retry with exponential backoff (bounded; ``ALERT_RETRY_BASE_SECONDS``,
    ``ALERT_MAX_RETRIES``). Run in the web process (eager Celery, the embedded setup) the step must not
    wait: the sweep takes over instead, as it does after the last retry."""
    if task.request.is_eager or task.request.retries >= settings.ALERT_MAX_RETRIES:
        return
    countdown = min(settings.ALERT_RETRY_BASE_SECONDS * 2**task.request.retries, RETRY_MAX_SECONDS)
    raise task.retry(exc=failure, countdown=countdown, max_retries=settings.ALERT_MAX_RETRIES)

"""Celery tasks of the push module: thin wrappers that wake the fan-out engine.

The database is the source of truth (the outbox); a lost task message only delays a send until the
periodic ``resume_stalled_sends`` finds its rows again.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from casapp.outbox import MailDeliveryFailed, outbox_retry_later
from push import services
from push.fanout.drains import Outcome, drain

# In eager mode (make run, tests) a task cannot be delayed; short waits are slept, long ones are left
# to the periodic resume task.
EAGER_MAX_SLEEP_SECONDS = 3.0
DATABASE_RETRY_SECONDS = 5


@shared_task(name="push.tasks.drain_notification", ignore_result=True, acks_late=True, bind=True)
def drain_notification(self: Task[[int], str], notification_id: int) -> str:
    try:
        result = drain(notification_id)
    except (OperationalError, InterfaceError) as error:
        # The database restarts: try again in a few seconds, rather than leave the send to
        # resume_stalled_sends, which first waits out the drain's mark (PUSH_CLAIM_LEASE_SECONDS).
        raise self.retry(exc=error, countdown=DATABASE_RETRY_SECONDS, max_retries=None) from error
    if result.outcome is Outcome.MORE:
        drain_notification.apply_async((notification_id,))
    elif result.outcome is Outcome.WAIT:
        if not drain_notification.app.conf.task_always_eager:
            drain_notification.apply_async((notification_id,), countdown=result.wait_seconds)
        elif result.wait_seconds <= EAGER_MAX_SLEEP_SECONDS:
            time.sleep(result.wait_seconds)
            drain_notification.apply_async((notification_id,))
    return result.outcome.value


@shared_task(name="push.tasks.start_due_notifications", ignore_result=True)
def start_due_notifications() -> int:
    return len(services.notifications_start_due())


@shared_task(name="push.tasks.resume_stalled_sends", ignore_result=True)
def resume_stalled_sends() -> int:
    return services.sends_resume_stalled()


@shared_task(name="push.tasks.installation_hygiene", ignore_result=True)
def installation_hygiene() -> dict[str, int]:
    return services.installations_mark_stale_and_purge()


@shared_task(bind=True, name="push.tasks.send_workflow_mails", ignore_result=True)
def send_workflow_mails(self: Any, audit_entry_id: int) -> int:
    """The e-mails of one workflow step; retried with backoff (as the Mängelmelder's intake alerts) while
    the mail server refuses, the sweep takes over after that or in the web process (eager Celery)."""
    try:
        return services.workflow_mails_send(audit_entry_id=audit_entry_id)
    except MailDeliveryFailed as failure:
        outbox_retry_later(self, failure)
        return 0


@shared_task(name="push.tasks.resend_pending_workflow_mails", ignore_result=True)
def resend_pending_workflow_mails() -> int:
    return services.workflow_mails_resend_pending()

"""Every write of the push module. Other apps use ``notify_installations`` and ``notify_each``."""

from __future__ import annotations

from push.services.delivery import (
    PersonalMessage,
    installations_mark_stale_and_purge,
    notification_start,
    notifications_start_due,
    notify_each,
    notify_installations,
    sends_resume_stalled,
)
from push.services.installations import (
    installation_erase,
    installation_register,
    installation_rotate_secret,
    installation_seen,
    installation_update,
)
from push.services.notifications import (
    can_approve,
    notification_approve,
    notification_cancel,
    notification_create,
    notification_reject,
    notification_request_approval,
    notification_review,
    notification_send_emergency,
    notification_send_test,
    notification_update,
    workflow_actions_allowed,
)
from push.services.pairing import pairing_code_issue, staff_device_pair, staff_device_unpair
from push.services.preferences import (
    inbox_mark_all_read,
    inbox_mark_read,
    preferences_update,
)
from push.services.workflow_mail import workflow_mails_resend_pending, workflow_mails_send

__all__ = [
    "PersonalMessage",
    "can_approve",
    "inbox_mark_all_read",
    "inbox_mark_read",
    "installation_erase",
    "installation_register",
    "installation_rotate_secret",
    "installation_seen",
    "installation_update",
    "installations_mark_stale_and_purge",
    "notification_approve",
    "notification_cancel",
    "notification_create",
    "notification_reject",
    "notification_request_approval",
    "notification_review",
    "notification_send_emergency",
    "notification_send_test",
    "notification_start",
    "notification_update",
    "notifications_start_due",
    "notify_each",
    "notify_installations",
    "pairing_code_issue",
    "preferences_update",
    "sends_resume_stalled",
    "staff_device_pair",
    "staff_device_unpair",
    "workflow_actions_allowed",
    "workflow_mails_resend_pending",
    "workflow_mails_send",
]

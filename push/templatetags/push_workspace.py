"""The workspace index's figures of the four-eyes workflow for the signed-in staff member."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from push.models import NotificationStatus
from push.selectors import notifications_awaiting_approval_by, notifications_for_staff
from push.services.notifications import can_approve

register = template.Library()


@register.inclusion_tag("admin/push/awaiting_approval_block.html", takes_context=True)
def awaiting_approval_block(context: dict[str, Any]) -> dict[str, Any]:
    """How many notifications wait for this member's approval (not their own), and how many fast-path
    sends wait for a review; shown to those who may approve."""
    user = context["request"].user
    shown = can_approve(user)
    changelist = reverse("admin:push_notification_changelist")
    return {
        "shown": shown,
        "awaiting_count": notifications_awaiting_approval_by(user).count() if shown else 0,
        "review_count": (
            notifications_for_staff().filter(needs_review=True).exclude(approved_by_id=user.pk).count()
            if shown
            else 0
        ),
        "awaiting_url": f"{changelist}?status__exact={NotificationStatus.AWAITING_APPROVAL}",
        "review_url": f"{changelist}?needs_review__exact=1",
    }

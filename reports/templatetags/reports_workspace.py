"""The workspace index's figures for the signed-in staff member."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from reports.staff_selectors import reports_for_staff, reports_overdue

register = template.Library()


@register.inclusion_tag("admin/reports/overdue_block.html", takes_context=True)
def overdue_reports_block(context: dict[str, Any]) -> dict[str, Any]:
    """How many reports of the member's departments are overdue, with a link to them in the list."""
    user = context["request"].user
    visible = reports_for_staff(user)
    return {
        "shown": user.is_active and user.is_staff and user.has_perm("reports.view_report"),
        "overdue_count": reports_overdue(visible).count(),
        "list_url": reverse("admin:reports_report_changelist") + "?overdue=yes",
        "preference_url": reverse("admin:reports_alertpreference_changelist"),
    }

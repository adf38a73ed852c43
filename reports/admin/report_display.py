"""How the workspace shows a report in a line: its place, its age, the start of its description, its
thumbnail. Shared by the queue's columns and the overview map's points, so both say the same."""

from __future__ import annotations

from datetime import datetime

from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from reports.models import Report, ReportPhoto

SUMMARY_WORDS = 8


def report_place(report: Report) -> str:
    """The app's address text, else the position rounded to about 10 m."""
    return report.address or f"{report.latitude:.4f}, {report.longitude:.4f}"


def report_age(report: Report, *, now: datetime) -> str:
    """Whole days since the report arrived ("3 Tage"); hours on its first day ("5 Stunden")."""
    # Days of 24 hours, not calendar days: "1 Tag" is a day old, whatever the time it came in.
    elapsed = max(now - report.created_at, now - now)
    if elapsed.days >= 1:
        return ngettext("%(count)d day", "%(count)d days", elapsed.days) % {"count": elapsed.days}
    hours = elapsed.seconds // 3600
    if hours == 0:
        return str(_("less than an hour"))
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def report_summary(report: Report) -> str:
    """The first words of the description."""
    return Truncator(" ".join(report.description.split())).words(SUMMARY_WORDS, truncate=" …")


def thumbnail_url(stored_name: str) -> str:
    """The URL of a thumbnail by its stored name (see ``reports_with_list_thumbnail``)."""
    storage = ReportPhoto._meta.get_field("thumbnail").storage
    return str(storage.url(stored_name))

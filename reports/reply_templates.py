"""Reply templates ("Textbausteine"): a department's prepared public replies and their placeholders.

A template's text may name the report with placeholders in braces, German like the staff who write them:
``{nummer}`` (the report's number) and ``{kategorie}`` (its category's German name). They are filled in
on the server, in one pass over the text, by name: a value is never parsed again and nothing else in the
text has a meaning (no format-string fields, attributes or indexes), so a template cannot reach anything
but these two values. An unknown placeholder is refused when the template is saved.
"""

from __future__ import annotations

import re

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from reports.models import ReplyTemplate, Report

PLACEHOLDERS: dict[str, StrOrPromise] = {
    "nummer": _("the report's number, e.g. 123"),
    "kategorie": _("the report's category, e.g. Schlagloch"),
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholders_unknown(text: str) -> list[str]:
    """The placeholders in ``text`` that are not in ``PLACEHOLDERS``, in order of appearance."""
    return [name for name in dict.fromkeys(_PLACEHOLDER.findall(text)) if name not in PLACEHOLDERS]


def reply_template_render(*, text: str, report: Report) -> str:
    """``text`` with each known placeholder replaced by the report's value; anything else stays as written."""
    values = {"nummer": str(report.pk), "kategorie": report.category.name_de}
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def reply_templates_for_report(*, report: Report) -> QuerySet[ReplyTemplate]:
    """The templates of the department that handles ``report`` (its category's), by title."""
    return ReplyTemplate.objects.filter(department=report.category.department).order_by("title")

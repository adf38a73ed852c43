"""Serializer fields of the Mängelmelder shared by its public and its staff serializers."""

from __future__ import annotations

from typing import Any

from casapp.api.fields import NamedChoiceField
from reports.models import ReportStatus


def report_status_field(**kwargs: Any) -> NamedChoiceField:
    """A report's status, one ``ReportStatusEnum`` in the OpenAPI schema wherever it appears."""
    return NamedChoiceField(enum_name="ReportStatusEnum", choices=ReportStatus.choices, **kwargs)

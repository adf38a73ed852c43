"""Pagination: cursor-based by default.

Lists of this API grow while people page through them (reports arrive, inbox items are added). A cursor
keeps pages stable under those inserts and costs the same on page 1 and page 10,000 of a million rows,
where page numbers need a ``COUNT(*)`` and an ``OFFSET`` that grow with the table.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError):
            # A hand-made cursor whose position does not fit the ordering field.
            raise NotFound(self.invalid_cursor_message) from None

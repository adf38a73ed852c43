"""Pagination: cursor-based by default.

Lists of this API grow while people page through them (reports arrive, inbox items are added). A cursor
keeps pages stable under those inserts and costs the same on page 1 and page 10,000 of a million rows,
where page numbers need a ``COUNT(*)`` and an ``OFFSET`` that grow with the table.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"

    def get_page_size(self, request: Request) -> int:
        """``?page_size=`` from 1 to ``max_page_size``; anything else given is refused, not ignored (DRF
        falls back to the default, so a client asking for 500 would not learn it gets 50). Empty is absent."""
        given = request.query_params.get(self.page_size_query_param, "")
        if given == "":
            return self.page_size
        # The digits are counted before int() sees them: int() of a long string costs quadratic time.
        digits = given.isascii() and given.isdigit() and len(given) <= 6
        if not (digits and 1 <= int(given) <= self.max_page_size):
            message = _("Enter a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
            raise ValidationError({self.page_size_query_param: [ErrorDetail(message, code="invalid")]})
        return int(given)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError):
            # A hand-made cursor whose position does not fit the ordering field.
            raise NotFound(self.invalid_cursor_message) from None
